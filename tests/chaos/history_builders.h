// Terse constructors for hand-written test histories: Set(1, "k", "a", 0, 10) is op #1,
// client 0, SET k=a invoked at 0 and acknowledged at 10. Unknown(op) turns an op into a
// timed-out one; Failed(op) into a refused one.
#pragma once

#include <optional>
#include <string>

#include "chaos/history.h"

namespace kv::chaos::testing {

inline Operation Set(uint64_t id, std::string key, std::string value, int64_t t0, int64_t t1,
                     uint32_t client = 0) {
  Operation op;
  op.id = id;
  op.client = client;
  op.key = std::move(key);
  op.kind = OpKind::kSet;
  op.value = std::move(value);
  op.invoke_ns = t0;
  op.complete_ns = t1;
  return op;
}

inline Operation Get(uint64_t id, std::string key, std::optional<std::string> result, int64_t t0,
                     int64_t t1, uint32_t client = 0) {
  Operation op;
  op.id = id;
  op.client = client;
  op.key = std::move(key);
  op.kind = OpKind::kGet;
  op.invoke_ns = t0;
  op.complete_ns = t1;
  op.result = std::move(result);
  return op;
}

inline Operation Incr(uint64_t id, std::string key, int64_t result, int64_t t0, int64_t t1,
                      uint32_t client = 0) {
  Operation op;
  op.id = id;
  op.client = client;
  op.key = std::move(key);
  op.kind = OpKind::kIncr;
  op.invoke_ns = t0;
  op.complete_ns = t1;
  op.result = std::to_string(result);
  return op;
}

inline Operation Unknown(Operation op) {
  op.outcome = Outcome::kUnknown;
  op.result.reset();
  return op;
}

inline Operation Failed(Operation op) {
  op.outcome = Outcome::kFail;
  op.result.reset();
  return op;
}

}  // namespace kv::chaos::testing
