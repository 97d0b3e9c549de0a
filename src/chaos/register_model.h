// The sequential specification of one key: a register holding nil, an integer or a string.
// GET returns the current value (or nil); SET replaces it; INCR turns nil into 0, adds one and
// returns the new value (an error, i.e. no change, on a non-integer or at INT64_MAX).
// Strings are interned per key (KeyValues) so a state is 16 bytes and compares in O(1).
// Pure value types; a KeyValues is owned by one check and not shared between threads.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "chaos/history.h"

namespace kv::chaos {

struct RegisterState {
  enum class Kind : uint8_t { kNil, kInt, kString };
  Kind kind = Kind::kNil;
  int64_t value = 0;  // kInt: the integer; kString: id in KeyValues; kNil: 0.

  bool operator==(const RegisterState&) const = default;
  uint64_t hash() const;
};

// One operation as the model sees it.
struct ModelOp {
  OpKind kind = OpKind::kGet;
  RegisterState input;        // SET: the state it installs.
  RegisterState output;       // GET: the state it observed; INCR: kInt with the returned value.
  bool output_known = false;  // false for unknown-outcome ops: any result is acceptable.
};

// Applies `op` to `state`. Returns false when the op could not have produced its recorded
// output from `state` (only possible when op.output_known). *next is always written.
bool step(const RegisterState& state, const ModelOp& op, RegisterState* next);

// Parses the canonical decimal form Redis accepts for INCR ("-12", "0"; not "+1", "01", "").
bool parse_canonical_int(std::string_view text, int64_t* out);

// Interns the string values of one key; integers are kept as integers so that SET "5"
// followed by INCR returns 6, as on the server.
class KeyValues {
 public:
  RegisterState state_for(const std::string& value);
  // The state a GET result denotes; nullopt (nil) maps to kNil. A string never written maps to
  // a fresh id that no SET produces, so such a read can never be linearized.
  RegisterState state_for_result(const std::optional<std::string>& result);
  std::string render(const RegisterState& state) const;

 private:
  std::unordered_map<std::string, int64_t> ids_;
  std::vector<std::string> strings_;
};

}  // namespace kv::chaos
