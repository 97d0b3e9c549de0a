#include "raft/membership.h"

#include <fmt/core.h>
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "common/check.h"

namespace kv::raft {

namespace {

void insert_sorted(std::vector<NodeId>* ids, NodeId id) {
  ids->insert(std::lower_bound(ids->begin(), ids->end(), id), id);
}

void erase(std::vector<NodeId>* ids, NodeId id) {
  ids->erase(std::remove(ids->begin(), ids->end(), id), ids->end());
}

bool valid_ids(const std::vector<NodeId>& ids) {
  for (size_t i = 0; i < ids.size(); ++i) {
    if (ids[i] == kNoNode || (i > 0 && ids[i] <= ids[i - 1])) return false;
  }
  return true;
}

void put_varint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void put_ids(std::string* out, const std::vector<NodeId>& ids) {
  put_varint(out, ids.size());
  NodeId previous = 0;
  for (NodeId id : ids) {
    put_varint(out, id - previous);
    previous = id;
  }
}

// Reads the fields of one encoding front to back; the first failure sticks.
class MembershipReader {
 public:
  explicit MembershipReader(std::string_view bytes) : bytes_(bytes) {}

  bool ok() const { return error_.empty(); }
  size_t remaining() const { return bytes_.size() - pos_; }
  const std::string& error() const { return error_; }

  void fail(const std::string& what, size_t at) {
    if (ok()) error_ = fmt::format("{} at offset {}", what, at);
  }

  uint8_t u8(const char* field) {
    if (!ok()) return 0;
    if (remaining() < 1) {
      fail(fmt::format("truncated {}", field), pos_);
      return 0;
    }
    return static_cast<uint8_t>(bytes_[pos_++]);
  }

  uint64_t varint(const char* field) {
    if (!ok()) return 0;
    const size_t start = pos_;
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (remaining() < 1) {
        fail(fmt::format("truncated {}", field), start);
        return 0;
      }
      auto byte = static_cast<uint8_t>(bytes_[pos_++]);
      // The tenth byte holds bit 63 only; anything more does not fit 64 bits.
      if (shift == 63 && byte > 1) {
        fail(fmt::format("{} overflows 64 bits", field), start);
        return 0;
      }
      v |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        if (byte == 0 && pos_ - start > 1) {
          fail(fmt::format("non-minimal varint in {}", field), start);
          return 0;
        }
        return v;
      }
    }
    fail(fmt::format("{} overflows 64 bits", field), start);
    return 0;
  }

  // Version 2's address list, into m.addresses: ids must be members of m.
  void addresses(Membership& m) {
    const size_t start = pos_;
    uint64_t count = varint("address count");
    if (ok() && count == 0) fail("empty address list (version 1 has none)", start);
    // Every address takes at least three bytes.
    if (ok() && count > remaining() / 3) {
      fail(fmt::format("address count {} exceeds the {} bytes left", count, remaining()), start);
    }
    NodeId previous = 0;
    for (uint64_t i = 0; i < count && ok(); ++i) {
      const size_t at = pos_;
      uint64_t delta = varint("address id");
      uint64_t length = varint("address length");
      if (!ok()) break;
      if (delta == 0 || delta > std::numeric_limits<uint64_t>::max() - previous) {
        fail("address ids must be >= 1 and ascend strictly", at);
        break;
      }
      previous += delta;
      if (!m.contains(previous)) {
        fail(fmt::format("address of node {}, which is not a member", previous), at);
      } else if (length == 0 || length > remaining()) {
        fail(fmt::format("address length {} with {} bytes left", length, remaining()), at);
      } else {
        m.addresses[previous] = std::string(bytes_.substr(pos_, length));
        pos_ += length;
      }
    }
  }

  std::vector<NodeId> ids(const char* what) {
    const size_t start = pos_;
    uint64_t count = varint(what);
    if (!ok()) return {};
    // Every id takes at least one byte: a forged count allocates nothing.
    if (count > remaining()) {
      fail(fmt::format("{} count {} exceeds the {} bytes left", what, count, remaining()), start);
      return {};
    }
    std::vector<NodeId> out;
    out.reserve(count);
    NodeId previous = 0;
    for (uint64_t i = 0; i < count && ok(); ++i) {
      const size_t at = pos_;
      uint64_t delta = varint(what);
      if (!ok()) break;
      if (delta == 0) {
        fail(fmt::format("{}: ids must be >= 1 and ascend strictly", what), at);
      } else if (delta > std::numeric_limits<uint64_t>::max() - previous) {
        fail(fmt::format("{}: id overflows 64 bits", what), at);
      } else {
        previous += delta;
        out.push_back(previous);
      }
    }
    return out;
  }

 private:
  std::string_view bytes_;
  size_t pos_ = 0;
  std::string error_;
};

}  // namespace

Refusal check_change(const Membership& current, const ConfigChange& change) {
  if (change.id == kNoNode) return Refusal::kInvalidNode;
  switch (change.kind) {
    case ConfigChange::Kind::kAddLearner:
      return current.contains(change.id) ? Refusal::kAlreadyMember : Refusal::kNone;
    case ConfigChange::Kind::kPromote:
      if (current.is_voter(change.id)) return Refusal::kAlreadyMember;
      return current.is_learner(change.id) ? Refusal::kNone : Refusal::kNotMember;
    case ConfigChange::Kind::kRemove:
      return current.contains(change.id) ? Refusal::kNone : Refusal::kNotMember;
  }
  return Refusal::kInvalidNode;
}

Membership apply_change(const Membership& current, const ConfigChange& change) {
  KV_CHECK(check_change(current, change) == Refusal::kNone);
  Membership next = current;
  switch (change.kind) {
    case ConfigChange::Kind::kAddLearner:
      insert_sorted(&next.learners, change.id);
      if (!change.address.empty()) next.addresses[change.id] = change.address;
      break;
    case ConfigChange::Kind::kPromote:
      erase(&next.learners, change.id);
      insert_sorted(&next.voters, change.id);
      break;
    case ConfigChange::Kind::kRemove:
      erase(&next.learners, change.id);
      erase(&next.voters, change.id);
      next.addresses.erase(change.id);
      break;
  }
  return next;
}

std::string describe(const Membership& membership) {
  std::string out = fmt::format("voters={} learners={}", fmt::join(membership.voters, ","),
                                fmt::join(membership.learners, ","));
  const char* sep = " addresses=";
  for (const auto& [id, address] : membership.addresses) {
    out += fmt::format("{}{}@{}", sep, id, address);
    sep = ",";
  }
  return out;
}

const char* describe(ConfigChange::Kind kind) {
  switch (kind) {
    case ConfigChange::Kind::kAddLearner:
      return "add-learner";
    case ConfigChange::Kind::kPromote:
      return "promote";
    case ConfigChange::Kind::kRemove:
      return "remove";
  }
  return "?";
}

void encode_membership(const Membership& membership, std::string* out) {
  KV_CHECK(valid_ids(membership.voters) && valid_ids(membership.learners));
  const bool with_addresses = !membership.addresses.empty();
  out->push_back(static_cast<char>(with_addresses ? kMembershipFormatVersion : kMembershipFormatNoAddresses));
  put_ids(out, membership.voters);
  put_ids(out, membership.learners);
  if (!with_addresses) return;
  put_varint(out, membership.addresses.size());
  NodeId previous = 0;
  for (const auto& [id, address] : membership.addresses) {
    KV_CHECK(membership.contains(id) && !address.empty());
    put_varint(out, id - previous);
    previous = id;
    put_varint(out, address.size());
    out->append(address);
  }
}

Status decode_membership(std::string_view bytes, Membership* out) {
  MembershipReader r(bytes);
  uint8_t version = r.u8("version");
  if (r.ok() && version != kMembershipFormatVersion && version != kMembershipFormatNoAddresses) {
    return Status::Corruption(fmt::format("membership: unsupported format version {}", version));
  }
  Membership m;
  m.voters = r.ids("voters");
  m.learners = r.ids("learners");
  if (r.ok()) {
    for (NodeId id : m.learners) {
      if (m.is_voter(id)) {
        r.fail(fmt::format("node {} is both voter and learner", id), bytes.size() - r.remaining());
        break;
      }
    }
  }
  if (r.ok() && version == kMembershipFormatVersion) r.addresses(m);
  if (r.ok() && r.remaining() != 0) {
    r.fail(fmt::format("{} trailing bytes", r.remaining()), bytes.size() - r.remaining());
  }
  if (!r.ok()) return Status::Corruption("membership: " + r.error());
  *out = std::move(m);
  return Status::OK();
}

}  // namespace kv::raft
