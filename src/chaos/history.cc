#include "chaos/history.h"

#include <fmt/core.h>

namespace kv::chaos {

std::string_view to_string(OpKind kind) {
  switch (kind) {
    case OpKind::kGet:
      return "GET";
    case OpKind::kSet:
      return "SET";
    case OpKind::kIncr:
      return "INCR";
  }
  return "?";
}

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::kOk:
      return "ok";
    case Outcome::kFail:
      return "fail";
    case Outcome::kUnknown:
      return "unknown";
  }
  return "?";
}

std::string describe(const Operation& op) {
  std::string s = fmt::format("#{} c{} {} {}", op.id, op.client, to_string(op.kind), op.key);
  if (op.kind == OpKind::kSet) s += fmt::format("={}", op.value);
  if (op.outcome == Outcome::kUnknown) {
    s += fmt::format(" [{},inf) unknown", op.invoke_ns);
    return s;
  }
  s += fmt::format(" [{},{}] {}", op.invoke_ns, op.complete_ns, to_string(op.outcome));
  if (op.outcome == Outcome::kOk && op.kind != OpKind::kSet) {
    s += fmt::format(" -> {}", op.result ? *op.result : std::string("nil"));
  }
  return s;
}

Status validate_operation(const Operation& op) {
  const std::string what = describe(op);
  if (op.key.empty()) return Status::InvalidArgument(what + ": empty key");
  if (op.outcome == Outcome::kOk && op.complete_ns < op.invoke_ns) {
    return Status::InvalidArgument(what + ": completes before it is invoked");
  }
  const bool wants_result = op.outcome == Outcome::kOk && op.kind == OpKind::kIncr;
  const bool may_have_result = op.outcome == Outcome::kOk && op.kind != OpKind::kSet;
  if (wants_result && !op.result) return Status::InvalidArgument(what + ": ok INCR without result");
  if (!may_have_result && op.result) return Status::InvalidArgument(what + ": unexpected result");
  if (op.kind != OpKind::kSet && !op.value.empty()) {
    return Status::InvalidArgument(what + ": only SET takes a value");
  }
  return Status::OK();
}

OutcomeCounts count_outcomes(const History& history) {
  OutcomeCounts counts;
  for (const Operation& op : history) {
    switch (op.outcome) {
      case Outcome::kOk:
        ++counts.ok;
        break;
      case Outcome::kFail:
        ++counts.fail;
        break;
      case Outcome::kUnknown:
        ++counts.unknown;
        break;
    }
  }
  return counts;
}

}  // namespace kv::chaos
