// kv_linearizability HISTORY_FILE: checks a chaos-run history (history_format.h) for
// linearizability per key and prints the summary, with the failing window on a violation.
// Exit codes: 0 linearizable, 1 violation, 2 bad input or unknown (search budget exceeded).
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <string>

#include "chaos/history_format.h"
#include "chaos/linearizability.h"

int main(int argc, char** argv) {
  CLI::App app{"Checks a kvcluster chaos history for linearizability."};
  std::string path;
  kv::chaos::CheckOptions options;
  uint64_t max_ms = static_cast<uint64_t>(options.max_time_per_key.count());
  app.add_option("history", path, "history file, one operation per line")->required();
  app.add_option("--max-steps", options.max_steps_per_key, "search steps allowed per key");
  app.add_option("--max-ms", max_ms, "search wall time allowed per key, in milliseconds");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : 2;
  }
  options.max_time_per_key = std::chrono::milliseconds(max_ms);

  auto history = kv::chaos::read_history_file(path);
  if (!history.ok()) {
    std::fprintf(stderr, "kv_linearizability: %s\n", history.status().ToString().c_str());
    return 2;
  }
  const kv::chaos::HistorySummary summary = kv::chaos::check_history(history.value(), options);
  std::fputs(summary.ToString().c_str(), stdout);
  switch (summary.verdict) {
    case kv::chaos::Verdict::kLinearizable:
      return 0;
    case kv::chaos::Verdict::kViolation:
      return 1;
    case kv::chaos::Verdict::kUnknown:
      return 2;
  }
  return 2;
}
