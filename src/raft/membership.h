// Membership changes, one server at a time (dissertation ch. 4): the change a leader is
// asked for (ConfigChange), how it turns one Membership into the next, and the encoding of a
// Membership — the payload of an EntryType::kConfig entry, and the configuration a snapshot
// carries (on the wire in SnapshotChunk; the host may store the same bytes beside a
// snapshot). Pure functions; safe from any thread.
//
// Format. A varint is unsigned LEB128 (7 bits per byte, low groups first, high bit set on
// every byte but the last), at most 10 bytes, minimal (no trailing 0x00 group).
//
//   membership   version u8 | voters id-list | learners id-list | [addresses]
//   id-list      count varint | count x varint: the first id, then each id minus the one
//                before it (ids ascend strictly, so every delta is >= 1; ids are >= 1)
//   addresses    (version 2 only) count varint (>= 1) | count x (id delta varint as in an
//                id-list | length varint (>= 1) | that many bytes "host:port")
//
// Version 1 is written when no member has an address, version 2 otherwise, so a
// configuration without addresses encodes exactly as before addresses existed.
// Worked example: voters {1, 2, 3} and learner {7} is 7 bytes:
//   01 | 03 01 01 01 | 01 07
// and with learner 7 at "h:1" it is 13 bytes:
//   02 | 03 01 01 01 | 01 07 | 01 07 03 'h' ':' '1'
// The encoding is canonical: decoding succeeds only on bytes that encoding reproduces.
// Versioning: any change to the layout bumps kMembershipFormatVersion; decoders reject
// versions they do not know.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"
#include "raft/types.h"

namespace kv::raft {

inline constexpr uint8_t kMembershipFormatVersion = 2;     // with addresses
inline constexpr uint8_t kMembershipFormatNoAddresses = 1;  // without

// One step of a membership change. New servers join as learners, are promoted once they
// caught up, and leave with kRemove (a voter or a learner).
struct ConfigChange {
  enum class Kind : uint8_t { kAddLearner, kPromote, kRemove };
  Kind kind = Kind::kAddLearner;
  NodeId id = kNoNode;
  std::string address{};  // kAddLearner: where the new member listens ("" if unknown)
};

// Whether `change` makes sense against `current` (id known or not, as the kind needs):
// kNone, kInvalidNode, kAlreadyMember or kNotMember. Quorum and lag are the leader's to check.
Refusal check_change(const Membership& current, const ConfigChange& change);
// The configuration after `change`. REQUIRES: check_change(current, change) == kNone.
Membership apply_change(const Membership& current, const ConfigChange& change);

// "voters=1,2,3 learners=7 addresses=7@h:1" for logs and INFO.
std::string describe(const Membership& membership);
const char* describe(ConfigChange::Kind kind);

// Appends the encoding of `membership` to *out. REQUIRES: the Membership invariant holds.
void encode_membership(const Membership& membership, std::string* out);
// Decodes exactly one Membership from `bytes`. Corruption, naming what is wrong and the
// offset, for an unknown version, a truncated or non-minimal varint, ids that are zero, not
// ascending or overflowing, an id both voter and learner, a count larger than the bytes can
// hold, or trailing bytes. *out is written only on success.
Status decode_membership(std::string_view bytes, Membership* out);

}  // namespace kv::raft
