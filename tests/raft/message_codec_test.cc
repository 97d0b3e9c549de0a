#include "raft/message_codec.h"

#include <doctest/doctest.h>

#include <limits>
#include <random>
#include <string>
#include <tuple>
#include <type_traits>
#include <variant>
#include <vector>

#include "common/coding.h"
#include "raft/membership.h"

namespace kv::raft::testing {
namespace {

constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

// Field-by-field views, so messages compare without operator== in message.h.
auto fields(const VoteRequest& m) {
  return std::tie(m.pre_vote, m.last_log_index, m.last_log_term, m.transfer);
}
auto fields(const VoteResponse& m) { return std::tie(m.pre_vote, m.granted); }
auto fields(const AppendRequest& m) {
  return std::tie(m.prev_index, m.prev_term, m.entries, m.commit);
}
auto fields(const AppendResponse& m) {
  return std::tie(m.success, m.match_index, m.accepted_index, m.reject_index, m.hint_term,
                  m.hint_index);
}
auto fields(const Heartbeat& m) { return std::tie(m.commit, m.read_seq); }
auto fields(const HeartbeatResponse& m) { return std::tie(m.read_seq); }
auto fields(const SnapshotChunk& m) { return std::tie(m.meta, m.offset, m.data, m.done); }
auto fields(const SnapshotResponse& m) { return std::tie(m.snapshot_index, m.next_offset); }
auto fields(const TimeoutNow&) { return std::tie(); }

bool same_message(const Message& a, const Message& b) {
  if (std::tie(a.from, a.to, a.term) != std::tie(b.from, b.to, b.term)) return false;
  if (a.body.index() != b.body.index()) return false;
  return std::visit(
      [&b](const auto& x) {
        using Body = std::decay_t<decltype(x)>;
        return fields(x) == fields(std::get<Body>(b.body));
      },
      a.body);
}

std::string encode(const Message& m) {
  std::string out;
  encode_message(m, &out);
  return out;
}

Message with_body(MessageBody body, NodeId from = 2, NodeId to = 3, Term term = 5) {
  return Message{from, to, term, std::move(body)};
}

std::string membership_bytes(const Membership& m) {
  std::string out;
  encode_membership(m, &out);
  return out;
}

const Membership kSomeMembers{{1, 2, 3}, {7}};
const Membership kHugeIds{{1, kMaxU64 - 1, kMaxU64}, {kMaxU64 - 2}};

std::string all_byte_values() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

// Every kind with all-zero fields, with all-max fields, and the interesting payloads.
// Kept small enough to truncate and mutate exhaustively.
std::vector<Message> small_samples() {
  std::vector<Message> v;
  v.push_back(with_body(VoteRequest{}, 0, 0, 0));
  v.push_back(with_body(VoteRequest{true, kMaxU64, kMaxU64, true}, kMaxU64, kMaxU64, kMaxU64));
  v.push_back(with_body(VoteRequest{false, 4, 2, true}));
  v.push_back(with_body(VoteResponse{}, 0, 0, 0));
  v.push_back(with_body(VoteResponse{true, true}, kMaxU64, kMaxU64, kMaxU64));
  v.push_back(with_body(VoteResponse{false, true}));
  v.push_back(with_body(AppendRequest{}, 0, 0, 0));
  v.push_back(with_body(AppendRequest{kMaxU64, kMaxU64, {}, kMaxU64}, kMaxU64, kMaxU64, kMaxU64));
  v.push_back(with_body(AppendRequest{7,
                                      4,
                                      {{8, 4, EntryType::kCommand, ""},
                                       {9, 5, EntryType::kNoOp, ""},
                                       {10, 5, EntryType::kConfig, membership_bytes(kSomeMembers)},
                                       {11, 5, EntryType::kConfig, membership_bytes({})},
                                       {kMaxU64, kMaxU64, EntryType::kCommand, all_byte_values()},
                                       {0, 0, EntryType::kCommand, std::string("\0\r\n", 3)}},
                                      6}));
  v.push_back(with_body(AppendResponse{}, 0, 0, 0));
  v.push_back(with_body(AppendResponse{true, kMaxU64, kMaxU64, kMaxU64, kMaxU64, kMaxU64}, kMaxU64, kMaxU64, kMaxU64));
  v.push_back(with_body(AppendResponse{false, 0, 0, 9, 3, 7}));
  v.push_back(with_body(Heartbeat{}, 0, 0, 0));
  v.push_back(with_body(Heartbeat{kMaxU64, kMaxU64}, kMaxU64, kMaxU64, kMaxU64));
  v.push_back(with_body(HeartbeatResponse{}, 0, 0, 0));
  v.push_back(with_body(HeartbeatResponse{kMaxU64}, kMaxU64, kMaxU64, kMaxU64));
  v.push_back(with_body(SnapshotChunk{}, 0, 0, 0));
  v.push_back(with_body(SnapshotChunk{{kMaxU64, kMaxU64, kHugeIds}, kMaxU64, all_byte_values(), true}, kMaxU64,
                        kMaxU64, kMaxU64));
  v.push_back(with_body(SnapshotChunk{{40, 3, kSomeMembers}, 4096, "chunk", false}));
  v.push_back(with_body(SnapshotResponse{}, 0, 0, 0));
  v.push_back(with_body(SnapshotResponse{kMaxU64, kMaxU64}, kMaxU64, kMaxU64, kMaxU64));
  v.push_back(with_body(TimeoutNow{}, 0, 0, 0));
  v.push_back(with_body(TimeoutNow{}, kMaxU64, kMaxU64, kMaxU64));
  return v;
}

std::vector<Message> large_samples() {
  std::vector<Message> v;
  AppendRequest many{100, 2, {}, 90};
  for (Index i = 101; i <= 5100; ++i) {
    auto type = static_cast<EntryType>(i % 4);
    std::string payload = type == EntryType::kConfig ? membership_bytes({{i, i + 1}, {i + 9}})
                                                     : std::string(i % 17, static_cast<char>(i));
    many.entries.push_back({i, 2 + i / 1000, type, std::move(payload)});
  }
  v.push_back(with_body(std::move(many)));
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + 7);
  Membership wide;
  for (NodeId id = 1; id <= 300; ++id) (id % 3 == 0 ? wide.learners : wide.voters).push_back(id);
  v.push_back(with_body(SnapshotChunk{{1000, 9, wide}, 1ull << 40, std::move(big), true}));
  return v;
}

// Encodes a header by hand, for inputs the encoder cannot produce.
std::string header(uint8_t version, uint8_t kind) {
  std::string s;
  s.push_back(static_cast<char>(version));
  s.push_back(static_cast<char>(kind));
  coding::put_fixed64(&s, 2);
  coding::put_fixed64(&s, 3);
  coding::put_fixed64(&s, 5);
  return s;
}

TEST_CASE("message codec: every kind round-trips with edge values") {
  std::vector<Message> samples = small_samples();
  for (Message& m : large_samples()) samples.push_back(std::move(m));
  std::vector<bool> kinds_seen(std::variant_size_v<MessageBody>, false);
  for (const Message& m : samples) {
    INFO(describe(m));
    std::string bytes = encode(m);
    CHECK(static_cast<uint8_t>(bytes[0]) == kMessageFormatVersion);
    CHECK(static_cast<uint8_t>(bytes[1]) == m.body.index() + 1);
    Message decoded;
    Status s = decode_message(bytes, &decoded);
    REQUIRE_MESSAGE(s.ok(), s.ToString());
    CHECK(same_message(m, decoded));
    kinds_seen[m.body.index()] = true;
  }
  for (bool seen : kinds_seen) CHECK(seen);
}

TEST_CASE("message codec: encode appends to what is already in the buffer") {
  Message m = with_body(Heartbeat{6, 9});
  std::string out = "prefix";
  encode_message(m, &out);
  CHECK(out.substr(0, 6) == "prefix");
  CHECK(out.substr(6) == encode(m));
}

TEST_CASE("message codec: the worked example in message_codec.h is exact") {
  std::string expected =
      std::string("\x02\x05", 2) + std::string("\x02\0\0\0\0\0\0\0", 8) +
      std::string("\x03\0\0\0\0\0\0\0", 8) + std::string("\x05\0\0\0\0\0\0\0", 8) +
      std::string("\x06\0\0\0\0\0\0\0", 8) + std::string("\x09\0\0\0\0\0\0\0", 8);
  CHECK(encode(with_body(Heartbeat{6, 9})) == expected);
  CHECK(expected.size() == 42);
}

TEST_CASE("message codec: every truncation is Corruption") {
  for (const Message& m : small_samples()) {
    INFO(describe(m));
    std::string bytes = encode(m);
    for (size_t len = 0; len < bytes.size(); ++len) {
      INFO("prefix length " << len);
      Message out = with_body(Heartbeat{1, 1}, 7, 7, 7);
      Status s = decode_message(std::string_view(bytes).substr(0, len), &out);
      CHECK(s.is_corruption());
      CHECK(same_message(out, with_body(Heartbeat{1, 1}, 7, 7, 7)));  // untouched on error
    }
  }
}

TEST_CASE("message codec: a truncated large message is Corruption") {
  for (const Message& m : large_samples()) {
    std::string bytes = encode(m);
    for (size_t cut : {size_t{1}, size_t{2}, size_t{100}, bytes.size() / 2, bytes.size() - 30}) {
      Message out;
      CHECK(decode_message(std::string_view(bytes).substr(0, bytes.size() - cut), &out)
                .is_corruption());
    }
  }
}

TEST_CASE("message codec: trailing bytes are Corruption") {
  for (const Message& m : small_samples()) {
    INFO(describe(m));
    for (const std::string& extra : {std::string(1, '\0'), std::string("garbage"), encode(m)}) {
      Message out;
      Status s = decode_message(encode(m) + extra, &out);
      CHECK(s.is_corruption());
      CHECK(s.message().find("trailing") != std::string::npos);
    }
  }
}

TEST_CASE("message codec: unknown version, kind, bool and entry type are Corruption") {
  Message out;
  for (uint8_t version : {uint8_t{1}, uint8_t{3}}) {  // the old format, and a future one
    Status s = decode_message(header(version, 5) + std::string(16, '\0'), &out);
    CHECK(s.is_corruption());
    CHECK(s.message().find("version " + std::to_string(version)) != std::string::npos);
  }

  Status s;
  for (uint8_t kind : {uint8_t{0}, uint8_t{10}, uint8_t{255}}) {
    s = decode_message(header(kMessageFormatVersion, kind) + std::string(64, '\0'), &out);
    CHECK(s.is_corruption());
    CHECK(s.message().find("unknown message kind") != std::string::npos);
  }

  std::string bad_bool = encode(with_body(VoteResponse{true, false}));
  bad_bool[kMessageHeaderSize + 1] = 2;
  s = decode_message(bad_bool, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("bad bool 2 in VoteResponse.granted") != std::string::npos);

  std::string bad_type =
      encode(with_body(AppendRequest{0, 0, {{1, 1, EntryType::kCommand, "x"}}, 0}));
  bad_type[kMessageHeaderSize + 8 + 8 + 8 + 4 + 16] = 4;
  s = decode_message(bad_type, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("unknown entry type 4") != std::string::npos);

  std::string bad_transfer = encode(with_body(VoteRequest{false, 1, 1, true}));
  bad_transfer.back() = 7;
  s = decode_message(bad_transfer, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("bad bool 7 in VoteRequest.transfer") != std::string::npos);
}

TEST_CASE("message codec: config payloads and snapshot memberships must decode") {
  Message out;
  // A config entry whose payload is not a membership: refused, whatever the rest says.
  for (const std::string& payload :
       {std::string(""), std::string("cfg"), membership_bytes(kSomeMembers) + "x"}) {
    INFO(payload);
    Status s = decode_message(
        encode(with_body(AppendRequest{0, 0, {{1, 1, EntryType::kConfig, payload}}, 0})), &out);
    CHECK(s.is_corruption());
    CHECK(s.message().find("bad config entry payload") != std::string::npos);
  }
  // The same bytes as a command are just a command.
  CHECK(decode_message(
            encode(with_body(AppendRequest{0, 0, {{1, 1, EntryType::kCommand, "cfg"}}, 0})), &out)
            .ok());

  std::string chunk = encode(with_body(SnapshotChunk{{4, 2, kSomeMembers}, 0, "img", true}));
  // The membership starts after the header, last_index, last_term and its u32 length: make
  // its first voter id 0.
  size_t first_voter = kMessageHeaderSize + 8 + 8 + 4 + 2;
  REQUIRE(chunk[first_voter] == 1);
  chunk[first_voter] = 0;
  Status s = decode_message(chunk, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("bad SnapshotChunk.membership") != std::string::npos);
}

TEST_CASE("message codec: a huge claimed count or length allocates nothing") {
  // If the decoder trusted these, it would reserve ~4 billion entries (hundreds of GB) or a
  // 4 GB string: bad_alloc in a normal build, an ASan abort in a sanitized one.
  Message out;
  std::string request =
      header(kMessageFormatVersion, static_cast<uint8_t>(MessageKind::kAppendRequest));
  for (int i = 0; i < 3; ++i) coding::put_fixed64(&request, 1);
  coding::put_fixed32(&request, std::numeric_limits<uint32_t>::max());
  request += std::string(40, 'x');
  Status s = decode_message(request, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("entry count 4294967295 exceeds") != std::string::npos);

  // One entry more than the remaining bytes could hold at minimum size.
  std::string tight =
      header(kMessageFormatVersion, static_cast<uint8_t>(MessageKind::kAppendRequest));
  for (int i = 0; i < 3; ++i) coding::put_fixed64(&tight, 1);
  coding::put_fixed32(&tight, 3);
  tight += std::string(2 * kMinEncodedEntrySize, '\0');
  CHECK(decode_message(tight, &out).is_corruption());

  std::string payload_len =
      encode(with_body(AppendRequest{0, 0, {{1, 1, EntryType::kCommand, ""}}, 0}));
  coding::encode_fixed32(&payload_len[payload_len.size() - 4],
                         std::numeric_limits<uint32_t>::max());
  s = decode_message(payload_len, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("truncated entry payload") != std::string::npos);

  SnapshotChunk last_chunk;
  last_chunk.meta.last_index = last_chunk.meta.last_term = 1;
  last_chunk.done = true;
  std::string chunk = encode(with_body(std::move(last_chunk)));
  coding::encode_fixed32(&chunk[chunk.size() - 4], std::numeric_limits<uint32_t>::max());
  chunk += "abc";
  s = decode_message(chunk, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("truncated SnapshotChunk.data") != std::string::npos);
}

TEST_CASE("message codec: random byte flips decode canonically or are Corruption") {
  std::mt19937_64 rng(20240611);
  for (const Message& m : small_samples()) {
    INFO(describe(m));
    const std::string original = encode(m);
    for (int trial = 0; trial < 500; ++trial) {
      std::string bytes = original;
      int flips = 1 + static_cast<int>(rng() % 3);
      for (int f = 0; f < flips; ++f) {
        bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
      }
      Message out;
      Status s = decode_message(bytes, &out);
      REQUIRE_MESSAGE((s.ok() || s.is_corruption()), s.ToString());
      // The encoding is canonical, so anything that decodes re-encodes to the same bytes.
      if (s.ok()) CHECK(encode(out) == bytes);
    }
  }
}

TEST_CASE("message codec: random garbage never crashes") {
  std::mt19937_64 rng(7);
  for (int trial = 0; trial < 5000; ++trial) {
    std::string bytes(rng() % 96, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    // Keep a valid version and a plausible kind half the time, to get past the header.
    if (bytes.size() >= 2 && trial % 2 == 0) {
      bytes[0] = static_cast<char>(kMessageFormatVersion);
      bytes[1] = static_cast<char>(1 + rng() % std::variant_size_v<MessageBody>);
    }
    Message out;
    Status s = decode_message(bytes, &out);
    REQUIRE((s.ok() || s.is_corruption()));
    if (s.ok()) CHECK(encode(out) == bytes);
  }
}

}  // namespace
}  // namespace kv::raft::testing
