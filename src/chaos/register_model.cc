#include "chaos/register_model.h"

#include <limits>

#include "common/check.h"

namespace kv::chaos {

uint64_t RegisterState::hash() const {
  uint64_t h = static_cast<uint64_t>(value) * 0x9e3779b97f4a7c15ULL;
  return h ^ (static_cast<uint64_t>(kind) + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2));
}

bool step(const RegisterState& state, const ModelOp& op, RegisterState* next) {
  switch (op.kind) {
    case OpKind::kGet:
      *next = state;
      return !op.output_known || op.output == state;
    case OpKind::kSet:
      *next = op.input;
      return true;
    case OpKind::kIncr: {
      *next = state;
      int64_t base = 0;
      if (state.kind == RegisterState::Kind::kInt) {
        base = state.value;
      } else if (state.kind == RegisterState::Kind::kString) {
        return !op.output_known;  // server error: nothing changes; an ok INCR cannot be here.
      }
      if (base == std::numeric_limits<int64_t>::max()) return !op.output_known;
      *next = RegisterState{RegisterState::Kind::kInt, base + 1};
      return !op.output_known || op.output == *next;
    }
  }
  return false;
}

bool parse_canonical_int(std::string_view text, int64_t* out) {
  *out = 0;
  if (text.empty() || text.size() > 20) return false;
  size_t i = 0;
  bool negative = text[0] == '-';
  if (negative) i = 1;
  if (i == text.size()) return false;
  if (text[i] == '0' && (text.size() - i > 1 || negative)) return false;  // "01", "-0"
  uint64_t magnitude = 0;
  for (; i < text.size(); ++i) {
    char c = text[i];
    if (c < '0' || c > '9') return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (magnitude > (std::numeric_limits<uint64_t>::max() - digit) / 10) return false;
    magnitude = magnitude * 10 + digit;
  }
  const uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (magnitude > limit) return false;
  *out = negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
  return true;
}

RegisterState KeyValues::state_for(const std::string& value) {
  int64_t n = 0;
  if (parse_canonical_int(value, &n)) return RegisterState{RegisterState::Kind::kInt, n};
  auto [it, inserted] = ids_.try_emplace(value, static_cast<int64_t>(strings_.size()));
  if (inserted) strings_.push_back(value);
  return RegisterState{RegisterState::Kind::kString, it->second};
}

RegisterState KeyValues::state_for_result(const std::optional<std::string>& result) {
  if (!result) return RegisterState{};
  return state_for(*result);
}

std::string KeyValues::render(const RegisterState& state) const {
  switch (state.kind) {
    case RegisterState::Kind::kNil:
      return "nil";
    case RegisterState::Kind::kInt:
      return std::to_string(state.value);
    case RegisterState::Kind::kString:
      KV_CHECK(state.value >= 0 && static_cast<size_t>(state.value) < strings_.size());
      return strings_[static_cast<size_t>(state.value)];
  }
  return "?";
}

}  // namespace kv::chaos
