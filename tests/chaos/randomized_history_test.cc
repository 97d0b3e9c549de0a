// Randomised histories from a real sequential execution: clients issue operations whose
// effects happen, one at a time, at a point inside their [invoke, complete] interval, so the
// history is linearizable by construction. Corrupting one read must then (nearly always) be
// caught, and the window must contain the corrupted read.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>

#include "chaos/linearizability.h"
#include "chaos/register_model.h"

namespace kv::chaos {
namespace {

struct GeneratorConfig {
  uint64_t seed = 1;
  size_t ops = 200;
  size_t keys = 3;
  uint32_t clients = 5;
  double unknown_rate = 0.05;
  double fail_rate = 0.03;
};

// Each client runs one op at a time: invoke, then the effect at a random later point, then the
// reply at a random point after that. Effects are applied in time order to a map of strings,
// the way a correct server would.
History generate(const GeneratorConfig& config) {
  std::mt19937_64 rng(config.seed);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };

  struct Pending {
    int64_t effect_ns;
    size_t op;
    bool applies;
  };
  History history;
  std::vector<Pending> effects;
  std::vector<int64_t> client_free(config.clients, 0);
  for (size_t i = 0; i < config.ops; ++i) {
    const auto client = static_cast<uint32_t>(uniform(0, config.clients - 1));
    Operation op;
    op.id = i + 1;
    op.client = client;
    const auto key_index = static_cast<size_t>(uniform(0, static_cast<int64_t>(config.keys) - 1));
    op.key = "k" + std::to_string(key_index);
    const int64_t kind = uniform(0, 9);
    op.kind = kind < 5 ? OpKind::kGet : (kind < 8 ? OpKind::kSet : OpKind::kIncr);
    // Even keys hold counters (integer SETs), odd keys hold opaque strings.
    if (op.kind == OpKind::kSet) {
      op.value = key_index % 2 == 0 ? std::to_string(1000 * op.id) : "v" + std::to_string(op.id);
    }
    op.invoke_ns = client_free[client] + uniform(0, 50);
    const int64_t effect = op.invoke_ns + uniform(0, 100);
    op.complete_ns = effect + uniform(0, 100);
    client_free[client] = op.complete_ns;
    if (chance(config.fail_rate)) {
      op.outcome = Outcome::kFail;
    } else if (chance(config.unknown_rate)) {
      op.outcome = Outcome::kUnknown;
    }
    const bool applies =
        op.outcome == Outcome::kOk || (op.outcome == Outcome::kUnknown && chance(0.5));
    effects.push_back({effect, i, applies});
    history.push_back(std::move(op));
  }
  std::stable_sort(effects.begin(), effects.end(),
                   [](const Pending& a, const Pending& b) { return a.effect_ns < b.effect_ns; });
  std::map<std::string, std::string> store;
  for (const Pending& e : effects) {
    Operation& op = history[e.op];
    if (!e.applies) continue;
    auto it = store.find(op.key);
    switch (op.kind) {
      case OpKind::kGet:
        if (it != store.end() && op.outcome == Outcome::kOk) op.result = it->second;
        break;
      case OpKind::kSet:
        store[op.key] = op.value;
        break;
      case OpKind::kIncr: {
        int64_t n = 0;
        if (it != store.end() && !parse_canonical_int(it->second, &n)) {
          op.outcome = Outcome::kFail;  // the server's "not an integer" error: nothing applied.
          break;
        }
        store[op.key] = std::to_string(n + 1);
        if (op.outcome == Outcome::kOk) op.result = std::to_string(n + 1);
        break;
      }
    }
  }
  return history;
}

// Replaces the result of one ok GET with another value the key held at some point (or nil).
// Returns the corrupted op's id, 0 if no GET could be corrupted.
uint64_t corrupt_one_read(History* history, std::mt19937_64* rng) {
  std::vector<size_t> reads;
  for (size_t i = 0; i < history->size(); ++i) {
    const Operation& op = (*history)[i];
    if (op.kind == OpKind::kGet && op.outcome == Outcome::kOk) reads.push_back(i);
  }
  if (reads.empty()) return 0;
  Operation& victim = (*history)[reads[(*rng)() % reads.size()]];
  std::vector<std::optional<std::string>> candidates = {std::nullopt};
  for (const Operation& op : *history) {
    if (op.key == victim.key && op.kind == OpKind::kSet) candidates.push_back(op.value);
  }
  std::erase(candidates, victim.result);
  if (candidates.empty()) return 0;
  victim.result = candidates[(*rng)() % candidates.size()];
  return victim.id;
}

TEST_CASE("histories of a real sequential execution are linearizable") {
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    CAPTURE(seed);
    GeneratorConfig config;
    config.seed = seed;
    config.ops = 50 + seed % 150;
    config.keys = 1 + seed % 4;
    const HistorySummary s = check_history(generate(config));
    if (s.verdict != Verdict::kLinearizable) MESSAGE(s.ToString());
    REQUIRE(s.verdict == Verdict::kLinearizable);
  }
}

TEST_CASE("one corrupted read is caught, and the window holds it") {
  int caught = 0, corrupted = 0, minimal = 0;
  for (uint64_t seed = 1; seed <= 200; ++seed) {
    CAPTURE(seed);
    GeneratorConfig config;
    config.seed = seed;
    config.ops = 60 + seed % 100;
    config.keys = 1 + seed % 3;
    History history = generate(config);
    std::mt19937_64 rng(seed * 7919);
    const uint64_t victim = corrupt_one_read(&history, &rng);
    if (victim == 0) continue;
    ++corrupted;
    const HistorySummary s = check_history(history);
    REQUIRE(s.verdict != Verdict::kUnknown);
    if (s.verdict != Verdict::kViolation) continue;  // the new value was also a legal read.
    ++caught;
    REQUIRE(s.problems.size() == 1);
    const KeyResult& r = s.problems[0];
    if (r.window_minimal) ++minimal;
    if (seed == 5) MESSAGE(r.ToString());
    // The rest of the history is linearizable, so every certificate must contain the victim.
    const bool named = std::any_of(r.window.begin(), r.window.end(),
                                   [&](const WindowOp& w) { return w.op.id == victim; });
    CHECK(named);
    CHECK(check_key(r.window_history()).verdict == Verdict::kViolation);
  }
  MESSAGE("corrupted ", corrupted, " histories, caught ", caught, ", 1-minimal windows ", minimal);
  CHECK(minimal * 10 >= caught * 9);
  CHECK(corrupted >= 190);
  CHECK(caught * 10 >= corrupted * 7);
}

TEST_CASE("10k operations over 100 keys with 5 clients check well under a second") {
  GeneratorConfig config;
  config.seed = 42;
  config.ops = 10'000;
  config.keys = 100;
  config.clients = 5;
  const History history = generate(config);
  const auto start = std::chrono::steady_clock::now();
  const HistorySummary s = check_history(history);
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  MESSAGE(s.ToString(), "checked in ", elapsed.count(), " ms");
  CHECK(s.verdict == Verdict::kLinearizable);
  CHECK(s.keys_checked == 100);
  CHECK(elapsed.count() < 1000);
}

TEST_CASE("one key with many timed-out writes and INCRs stays tractable") {
  GeneratorConfig config;
  config.seed = 7;
  config.ops = 3000;
  config.keys = 2;
  config.unknown_rate = 0.3;
  const auto start = std::chrono::steady_clock::now();
  const HistorySummary s = check_history(generate(config));
  const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  MESSAGE(s.ToString(), "checked in ", elapsed.count(), " ms");
  CHECK(s.verdict == Verdict::kLinearizable);
}

}  // namespace
}  // namespace kv::chaos
