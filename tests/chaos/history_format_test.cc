#include "chaos/history_format.h"

#include <doctest/doctest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "chaos/history_builders.h"

namespace kv::chaos {
namespace {

using testing::Failed;
using testing::Get;
using testing::Incr;
using testing::Set;
using testing::Unknown;

bool same(const Operation& a, const Operation& b) {
  return a.id == b.id && a.client == b.client && a.key == b.key && a.kind == b.kind &&
         a.value == b.value && a.invoke_ns == b.invoke_ns && a.outcome == b.outcome &&
         a.result == b.result && (a.outcome == Outcome::kUnknown || a.complete_ns == b.complete_ns);
}

History sample() {
  return {Set(1, "k1", "v-1", 1000, 1900),
          Get(2, "k1", "v-1", 1500, 2600, 1),
          Unknown(Incr(3, "k2", 0, 1600, 1700, 2)),
          Incr(4, "k2", 1, 2700, 2900, 1),
          Get(5, "k space", std::nullopt, 3000, 3100),
          Set(6, "odd\"key%\n", "va lue\"%\x01\xff", -5, 7, 3),
          Get(7, "k1", "", 10, 20),
          Set(8, "k1", "", 30, 40),
          Failed(Set(9, "k1", "nope", 50, 60)),
          Unknown(Get(10, "k1", std::nullopt, 70, 80))};
}

TEST_CASE("history format: worked example from the header") {
  const std::string text = format_history(sample());
  CHECK(text.rfind("# kvcluster chaos history v1\n", 0) == 0);
  CHECK(text.find("\n1 0 1000 1900 SET k1 \"v-1\" ok -\n") != std::string::npos);
  CHECK(text.find("\n2 1 1500 2600 GET k1 - ok \"v-1\"\n") != std::string::npos);
  CHECK(text.find("\n3 2 1600 - INCR k2 - unknown -\n") != std::string::npos);
  CHECK(text.find("\n4 1 2700 2900 INCR k2 - ok 1\n") != std::string::npos);
  CHECK(text.find("\n5 0 3000 3100 GET k%20space - ok nil\n") != std::string::npos);
  CHECK(text.find("\n9 0 50 60 SET k1 \"nope\" fail -\n") != std::string::npos);
}

TEST_CASE("history format: round trip") {
  const History original = sample();
  auto parsed = parse_history(format_history(original));
  REQUIRE(parsed.ok());
  REQUIRE(parsed.value().size() == original.size());
  for (size_t i = 0; i < original.size(); ++i) {
    CAPTURE(i);
    CHECK(same(parsed.value()[i], original[i]));
  }
  // Comments, blank lines, tabs and CRLF are tolerated.
  auto loose = parse_history("# c\n\n  \t\n1\t0 1 2 GET k - ok nil\r\n   # indented comment\n");
  REQUIRE(loose.ok());
  CHECK(loose.value().size() == 1);
}

TEST_CASE("history format: files") {
  char templ[] = "/tmp/kv_chaos_test.XXXXXX";
  REQUIRE(mkdtemp(templ) != nullptr);
  const std::string dir = templ;
  const std::string path = dir + "/history.txt";
  REQUIRE(write_history_file(path, sample()).ok());
  auto back = read_history_file(path);
  REQUIRE(back.ok());
  CHECK(back.value().size() == sample().size());
  auto missing = read_history_file(dir + "/nope.txt");
  CHECK(missing.status().is_io_error());
  std::filesystem::remove_all(dir);
}

TEST_CASE("history format: parse errors name the line and the problem") {
  struct Case {
    const char* line;
    const char* error;
  };
  const Case cases[] = {
      {"1 0 1 2 GET k - ok", "expected 9 fields, got 8"},
      {"x 0 1 2 GET k - ok nil", "bad id 'x'"},
      {"1 0 1 z GET k - ok nil", "bad complete_ns 'z'"},
      {"1 0 1 - GET k - ok nil", "bad complete_ns '-'"},
      {"1 0 5 2 GET k - ok nil", "completes before it is invoked"},
      {"1 0 1 2 DEL k - ok -", "bad kind 'DEL'"},
      {"1 0 1 2 GET k - maybe nil", "bad outcome 'maybe'"},
      {"1 0 1 2 SET k v ok -", "expected a quoted string"},
      {"1 0 1 2 SET k \"a%2\" ok -", "truncated %XX escape"},
      {"1 0 1 2 SET k \"a%zz\" ok -", "bad %XX escape"},
      {"1 0 1 2 GET k \"v\" ok nil", "GET takes no argument"},
      {"1 0 1 2 GET k - ok -", "ok GET needs a result"},
      {"1 0 1 2 INCR k - ok x", "bad INCR result 'x'"},
      {"1 0 1 2 INCR k - ok -", "ok INCR without result"},
      {"1 0 1 2 SET k \"v\" ok \"v\"", "unexpected result"},
      {"1 0 1 2 SET k \"v\" ok nil", "SET cannot return nil"},
      {"1 0 1 2 GET k - fail nil", "only an ok GET has a result"},
      {"1 0 1 2 GET % - ok nil", "truncated %XX escape"},
  };
  for (const Case& c : cases) {
    const std::string line = c.line;
    CAPTURE(line);
    auto r = parse_history(std::string("# header\n") + c.line + "\n");
    REQUIRE_FALSE(r.ok());
    const std::string message = r.status().message();
    CAPTURE(message);
    CHECK(r.status().is_invalid_argument());
    CHECK(r.status().message().find("line 2: ") == 0);
    CHECK(r.status().message().find(c.error) != std::string::npos);
  }
  auto dup = parse_history("1 0 1 2 GET k - ok nil\n1 0 3 4 GET k - ok nil\n");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.status().message() == "line 2: duplicate id 1");
}

}  // namespace
}  // namespace kv::chaos
