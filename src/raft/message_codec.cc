#include "raft/message_codec.h"

#include <cassert>
#include <limits>
#include <utility>
#include <variant>

#include "common/coding.h"
#include "raft/membership.h"

namespace kv::raft {

namespace {

static_assert(std::variant_size_v<MessageBody> == 9,
              "a new message variant needs a kind and a layout in message_codec");

constexpr uint32_t kMaxLength = std::numeric_limits<uint32_t>::max();

// ---- encoding ----

MessageKind kind_of(const VoteRequest&) { return MessageKind::kVoteRequest; }
MessageKind kind_of(const VoteResponse&) { return MessageKind::kVoteResponse; }
MessageKind kind_of(const AppendRequest&) { return MessageKind::kAppendRequest; }
MessageKind kind_of(const AppendResponse&) { return MessageKind::kAppendResponse; }
MessageKind kind_of(const Heartbeat&) { return MessageKind::kHeartbeat; }
MessageKind kind_of(const HeartbeatResponse&) { return MessageKind::kHeartbeatResponse; }
MessageKind kind_of(const SnapshotChunk&) { return MessageKind::kSnapshotChunk; }
MessageKind kind_of(const SnapshotResponse&) { return MessageKind::kSnapshotResponse; }
MessageKind kind_of(const TimeoutNow&) { return MessageKind::kTimeoutNow; }

void put_u8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void put_bool(std::string* out, bool v) { put_u8(out, v ? 1 : 0); }

void put_bytes(std::string* out, const std::string& bytes) {
  assert(bytes.size() <= kMaxLength && "payload does not fit the 32-bit length");
  coding::put_fixed32(out, static_cast<uint32_t>(bytes.size()));
  out->append(bytes);
}

void encode_body(const VoteRequest& m, std::string* out) {
  put_bool(out, m.pre_vote);
  coding::put_fixed64(out, m.last_log_index);
  coding::put_fixed64(out, m.last_log_term);
  put_bool(out, m.transfer);
}

void encode_body(const VoteResponse& m, std::string* out) {
  put_bool(out, m.pre_vote);
  put_bool(out, m.granted);
}

void encode_body(const AppendRequest& m, std::string* out) {
  assert(m.entries.size() <= kMaxLength && "entry count does not fit 32 bits");
  coding::put_fixed64(out, m.prev_index);
  coding::put_fixed64(out, m.prev_term);
  coding::put_fixed64(out, m.commit);
  coding::put_fixed32(out, static_cast<uint32_t>(m.entries.size()));
  for (const Entry& e : m.entries) {
    coding::put_fixed64(out, e.index);
    coding::put_fixed64(out, e.term);
    put_u8(out, static_cast<uint8_t>(e.type));
    put_bytes(out, e.payload);
  }
}

void encode_body(const AppendResponse& m, std::string* out) {
  put_bool(out, m.success);
  coding::put_fixed64(out, m.match_index);
  coding::put_fixed64(out, m.accepted_index);
  coding::put_fixed64(out, m.reject_index);
  coding::put_fixed64(out, m.hint_term);
  coding::put_fixed64(out, m.hint_index);
}

void encode_body(const Heartbeat& m, std::string* out) {
  coding::put_fixed64(out, m.commit);
  coding::put_fixed64(out, m.read_seq);
}

void encode_body(const HeartbeatResponse& m, std::string* out) {
  coding::put_fixed64(out, m.read_seq);
}

void encode_body(const SnapshotChunk& m, std::string* out) {
  coding::put_fixed64(out, m.meta.last_index);
  coding::put_fixed64(out, m.meta.last_term);
  std::string membership;
  encode_membership(m.meta.membership, &membership);
  put_bytes(out, membership);
  coding::put_fixed64(out, m.offset);
  put_bool(out, m.done);
  put_bytes(out, m.data);
}

void encode_body(const SnapshotResponse& m, std::string* out) {
  coding::put_fixed64(out, m.snapshot_index);
  coding::put_fixed64(out, m.next_offset);
}

void encode_body(const TimeoutNow&, std::string*) {}

// ---- decoding ----

// Reads fields front to back. The first failure sticks: later reads return zero values
// and leave the error alone, so a body decoder reads all its fields and checks once.
class Reader {
 public:
  explicit Reader(std::string_view bytes) : bytes_(bytes) {}

  bool ok() const { return error_.empty(); }
  size_t remaining() const { return bytes_.size() - pos_; }
  size_t offset() const { return pos_; }

  void fail(const std::string& reason) { fail(reason, pos_); }
  void fail(const std::string& reason, size_t offset) {
    if (ok()) error_ = reason + " at offset " + std::to_string(offset);
  }

  uint8_t u8(const char* field) {
    if (!have(1, field)) return 0;
    return static_cast<uint8_t>(bytes_[pos_++]);
  }

  uint32_t u32(const char* field) {
    if (!have(4, field)) return 0;
    uint32_t v = coding::decode_fixed32(bytes_.data() + pos_);
    pos_ += 4;
    return v;
  }

  uint64_t u64(const char* field) {
    if (!have(8, field)) return 0;
    uint64_t v = coding::decode_fixed64(bytes_.data() + pos_);
    pos_ += 8;
    return v;
  }

  // Only 0 and 1 are bools: accepting other values would make the encoding non-canonical.
  bool boolean(const char* field) {
    uint8_t v = u8(field);
    if (v > 1) {
      --pos_;
      fail(std::string("bad bool ") + std::to_string(v) + " in " + field);
    }
    return v == 1;
  }

  // A u32 length and that many bytes. The length is checked against the bytes present
  // before the string is built, so a lying length allocates nothing.
  std::string bytes(const char* field) {
    uint32_t len = u32(field);
    if (!have(len, field)) return {};
    std::string v(bytes_.substr(pos_, len));
    pos_ += len;
    return v;
  }

  Status status() const {
    if (ok()) return Status::OK();
    return Status::Corruption("raft message: " + error_);
  }

 private:
  bool have(size_t n, const char* field) {
    if (!ok()) return false;
    if (remaining() < n) {
      fail(std::string("truncated ") + field);
      return false;
    }
    return true;
  }

  std::string_view bytes_;
  size_t pos_ = 0;
  std::string error_;  // empty while every read so far succeeded
};

void decode_body(Reader* r, VoteRequest* m) {
  m->pre_vote = r->boolean("VoteRequest.pre_vote");
  m->last_log_index = r->u64("VoteRequest.last_log_index");
  m->last_log_term = r->u64("VoteRequest.last_log_term");
  m->transfer = r->boolean("VoteRequest.transfer");
}

void decode_body(Reader* r, VoteResponse* m) {
  m->pre_vote = r->boolean("VoteResponse.pre_vote");
  m->granted = r->boolean("VoteResponse.granted");
}

void decode_entry(Reader* r, Entry* e) {
  e->index = r->u64("entry index");
  e->term = r->u64("entry term");
  uint8_t type = r->u8("entry type");
  if (type > static_cast<uint8_t>(EntryType::kBatch)) {
    r->fail("unknown entry type " + std::to_string(type));
  }
  e->type = static_cast<EntryType>(type);
  size_t payload_at = r->offset();
  e->payload = r->bytes("entry payload");
  Membership membership;
  if (r->ok() && e->type == EntryType::kConfig) {
    if (Status s = decode_membership(e->payload, &membership); !s.ok()) {
      r->fail("bad config entry payload (" + s.message() + ")", payload_at);
    }
  }
}

void decode_body(Reader* r, AppendRequest* m) {
  m->prev_index = r->u64("AppendRequest.prev_index");
  m->prev_term = r->u64("AppendRequest.prev_term");
  m->commit = r->u64("AppendRequest.commit");
  uint32_t count = r->u32("AppendRequest entry count");
  if (!r->ok()) return;
  // Every entry takes at least kMinEncodedEntrySize bytes; checking before reserve() keeps
  // a forged count from allocating gigabytes.
  if (count > r->remaining() / kMinEncodedEntrySize) {
    r->fail("entry count " + std::to_string(count) + " exceeds the " +
            std::to_string(r->remaining()) + " bytes left");
    return;
  }
  m->entries.reserve(count);
  for (uint32_t i = 0; i < count && r->ok(); ++i) decode_entry(r, &m->entries.emplace_back());
}

void decode_body(Reader* r, AppendResponse* m) {
  m->success = r->boolean("AppendResponse.success");
  m->match_index = r->u64("AppendResponse.match_index");
  m->accepted_index = r->u64("AppendResponse.accepted_index");
  m->reject_index = r->u64("AppendResponse.reject_index");
  m->hint_term = r->u64("AppendResponse.hint_term");
  m->hint_index = r->u64("AppendResponse.hint_index");
}

void decode_body(Reader* r, Heartbeat* m) {
  m->commit = r->u64("Heartbeat.commit");
  m->read_seq = r->u64("Heartbeat.read_seq");
}

void decode_body(Reader* r, HeartbeatResponse* m) {
  m->read_seq = r->u64("HeartbeatResponse.read_seq");
}

void decode_body(Reader* r, SnapshotChunk* m) {
  m->meta.last_index = r->u64("SnapshotChunk.last_index");
  m->meta.last_term = r->u64("SnapshotChunk.last_term");
  size_t membership_at = r->offset();
  std::string membership = r->bytes("SnapshotChunk.membership");
  if (r->ok()) {
    if (Status s = decode_membership(membership, &m->meta.membership); !s.ok()) {
      r->fail("bad SnapshotChunk.membership (" + s.message() + ")", membership_at);
    }
  }
  m->offset = r->u64("SnapshotChunk.offset");
  m->done = r->boolean("SnapshotChunk.done");
  m->data = r->bytes("SnapshotChunk.data");
}

void decode_body(Reader* r, SnapshotResponse* m) {
  m->snapshot_index = r->u64("SnapshotResponse.snapshot_index");
  m->next_offset = r->u64("SnapshotResponse.next_offset");
}

void decode_body(Reader*, TimeoutNow*) {}

template <typename Body>
MessageBody decode_as(Reader* r) {
  Body body;
  decode_body(r, &body);
  return body;
}

// Sets r's error for an unknown kind; the returned body is then meaningless.
MessageBody decode_kind(uint8_t kind, Reader* r) {
  switch (static_cast<MessageKind>(kind)) {
    case MessageKind::kVoteRequest:
      return decode_as<VoteRequest>(r);
    case MessageKind::kVoteResponse:
      return decode_as<VoteResponse>(r);
    case MessageKind::kAppendRequest:
      return decode_as<AppendRequest>(r);
    case MessageKind::kAppendResponse:
      return decode_as<AppendResponse>(r);
    case MessageKind::kHeartbeat:
      return decode_as<Heartbeat>(r);
    case MessageKind::kHeartbeatResponse:
      return decode_as<HeartbeatResponse>(r);
    case MessageKind::kSnapshotChunk:
      return decode_as<SnapshotChunk>(r);
    case MessageKind::kSnapshotResponse:
      return decode_as<SnapshotResponse>(r);
    case MessageKind::kTimeoutNow:
      return decode_as<TimeoutNow>(r);
  }
  r->fail("unknown message kind " + std::to_string(kind));
  return {};
}

}  // namespace

void encode_message(const Message& message, std::string* out) {
  put_u8(out, kMessageFormatVersion);
  put_u8(out,
         static_cast<uint8_t>(std::visit([](const auto& b) { return kind_of(b); }, message.body)));
  coding::put_fixed64(out, message.from);
  coding::put_fixed64(out, message.to);
  coding::put_fixed64(out, message.term);
  std::visit([out](const auto& b) { encode_body(b, out); }, message.body);
}

Status decode_message(std::string_view bytes, Message* out) {
  Reader r(bytes);
  uint8_t version = r.u8("format version");
  if (r.ok() && version != kMessageFormatVersion) {
    return Status::Corruption("raft message: unsupported format version " +
                              std::to_string(version));
  }
  uint8_t kind = r.u8("message kind");
  Message message;
  message.from = r.u64("from");
  message.to = r.u64("to");
  message.term = r.u64("term");
  // The kind is checked only after the header is known to be complete, so a truncated
  // header reports truncation whatever its kind byte says.
  if (r.ok()) message.body = decode_kind(kind, &r);
  if (r.ok() && r.remaining() != 0) {
    r.fail(std::to_string(r.remaining()) + " trailing bytes after the message");
  }
  if (!r.ok()) return r.status();
  *out = std::move(message);
  return Status::OK();
}

}  // namespace kv::raft
