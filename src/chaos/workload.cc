#include "chaos/workload.h"

#include <fmt/core.h>

#include <cassert>

namespace kv::chaos {
namespace {

using protocol::Reply;

bool is_write(OpKind kind) { return kind != OpKind::kGet; }

Classified not_ok(OpKind kind, std::string note) {
  Classified c;
  c.outcome = is_write(kind) ? Outcome::kUnknown : Outcome::kFail;
  c.note = std::move(note);
  return c;
}

}  // namespace

std::vector<std::string> PlannedOp::argv() const {
  switch (kind) {
    case OpKind::kGet:
      return {"GET", key};
    case OpKind::kSet:
      return {"SET", key, value};
    case OpKind::kIncr:
      return {"INCR", key};
  }
  return {};
}

Workload::Workload(const WorkloadSpec& spec) : spec_(spec) {
  assert(spec.registers + spec.counters >= 1);
  for (int i = 0; i < spec.registers; ++i) keys_.push_back(fmt::format("r{}", i));
  for (int i = 0; i < spec.counters; ++i) keys_.push_back(fmt::format("n{}", i));
}

PlannedOp Workload::next(std::mt19937_64& rng, uint32_t client, uint64_t seq) const {
  std::uniform_int_distribution<size_t> pick_key(0, keys_.size() - 1);
  const size_t k = pick_key(rng);
  PlannedOp op;
  op.key = keys_[k];
  const bool read = std::uniform_real_distribution<double>(0, 1)(rng) < spec_.read_fraction;
  const bool counter = k >= static_cast<size_t>(spec_.registers);
  if (read) {
    op.kind = OpKind::kGet;
  } else if (counter) {
    op.kind = OpKind::kIncr;
  } else {
    op.kind = OpKind::kSet;
    op.value = fmt::format("w{}-{}", client, seq);
  }
  return op;
}

Classified classify_reply(OpKind kind, const Result<Reply>& reply) {
  if (!reply.ok()) return not_ok(kind, reply.status().ToString());
  const Reply& r = reply.value();
  if (r.type == Reply::Type::kError) {
    if (r.str.rfind("CLUSTERDOWN", 0) == 0) {
      Classified c;
      c.outcome = Outcome::kFail;
      c.note = r.str;
      return c;
    }
    return not_ok(kind, r.str);
  }
  Classified c;
  switch (kind) {
    case OpKind::kGet:
      if (r.type == Reply::Type::kNil) return c;
      if (r.type == Reply::Type::kBulkString) {
        c.result = r.str;
        return c;
      }
      break;
    case OpKind::kSet:
      if (r.type == Reply::Type::kSimpleString && r.str == "OK") return c;
      break;
    case OpKind::kIncr:
      if (r.type == Reply::Type::kInteger) {
        c.result = std::to_string(r.integer);
        return c;
      }
      break;
  }
  return not_ok(kind, "unexpected reply: " + r.to_display());
}

}  // namespace kv::chaos
