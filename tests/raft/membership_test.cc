// Membership values: one-server-at-a-time changes, and the config entry encoding (exact,
// canonical, strict on hostile input).

#include "raft/membership.h"

#include <doctest/doctest.h>

#include <limits>
#include <map>
#include <random>
#include <string>

namespace kv::raft::testing {
namespace {

constexpr NodeId kMax = std::numeric_limits<NodeId>::max();

std::string encode(const Membership& m) {
  std::string out;
  encode_membership(m, &out);
  return out;
}

Membership decoded(const std::string& bytes) {
  Membership m;
  Status s = decode_membership(bytes, &m);
  REQUIRE_MESSAGE(s.ok(), s.ToString());
  return m;
}

std::string bytes_of(std::initializer_list<int> values) {
  std::string s;
  for (int v : values) s.push_back(static_cast<char>(v));
  return s;
}

TEST_CASE("membership: changes add learners, promote them and remove anyone") {
  Membership m{{1, 2, 3}, {}};
  CHECK(check_change(m, {ConfigChange::Kind::kAddLearner, 5}) == Refusal::kNone);
  m = apply_change(m, {ConfigChange::Kind::kAddLearner, 5});
  m = apply_change(m, {ConfigChange::Kind::kAddLearner, 4});
  CHECK(m == Membership{{1, 2, 3}, {4, 5}});
  CHECK(m.is_learner(4));
  CHECK_FALSE(m.is_voter(4));
  CHECK(m.quorum() == 2);  // learners do not count

  m = apply_change(m, {ConfigChange::Kind::kPromote, 4});
  CHECK(m == Membership{{1, 2, 3, 4}, {5}});
  CHECK(m.quorum() == 3);
  m = apply_change(m, {ConfigChange::Kind::kRemove, 2});
  m = apply_change(m, {ConfigChange::Kind::kRemove, 5});
  CHECK(m == Membership{{1, 3, 4}, {}});

  CHECK(check_change(m, {ConfigChange::Kind::kAddLearner, 0}) == Refusal::kInvalidNode);
  CHECK(check_change(m, {ConfigChange::Kind::kAddLearner, 3}) == Refusal::kAlreadyMember);
  CHECK(check_change(m, {ConfigChange::Kind::kPromote, 3}) == Refusal::kAlreadyMember);
  CHECK(check_change(m, {ConfigChange::Kind::kPromote, 9}) == Refusal::kNotMember);
  CHECK(check_change(m, {ConfigChange::Kind::kRemove, 9}) == Refusal::kNotMember);
  CHECK(describe(Membership{{1, 2}, {7}}) == "voters=1,2 learners=7");
}

TEST_CASE("membership codec: the worked example in membership.h is exact") {
  CHECK(encode({{1, 2, 3}, {7}}) == bytes_of({1, 3, 1, 1, 1, 1, 7}));
  CHECK(encode({}) == bytes_of({1, 0, 0}));
  // Ids past 127 take more varint bytes; deltas keep neighbours short.
  CHECK(encode({{300, 301}, {}}) == bytes_of({1, 2, 0xac, 0x02, 1, 0}));
  Membership with_address{{1, 2, 3}, {7}};
  with_address.addresses[7] = "h:1";
  CHECK(encode(with_address) == bytes_of({2, 3, 1, 1, 1, 1, 7, 1, 7, 3, 'h', ':', '1'}));
}

TEST_CASE("membership: a learner's address travels with the configuration until removal") {
  Membership m{{1, 2, 3}, {}};
  m = apply_change(m, {ConfigChange::Kind::kAddLearner, 4, "10.0.0.4:9001"});
  CHECK(m.addresses == std::map<NodeId, std::string>{{4, "10.0.0.4:9001"}});
  m = apply_change(m, {ConfigChange::Kind::kPromote, 4});
  CHECK(m.addresses.at(4) == "10.0.0.4:9001");
  CHECK(describe(m) == "voters=1,2,3,4 learners= addresses=4@10.0.0.4:9001");
  CHECK(decoded(encode(m)) == m);
  m = apply_change(m, {ConfigChange::Kind::kRemove, 4});
  CHECK(m.addresses.empty());
  CHECK(m == Membership{{1, 2, 3}, {}});
  // Without addresses the old (version 1) bytes come out again.
  CHECK(encode(m) == bytes_of({1, 3, 1, 1, 1, 0}));
}

TEST_CASE("membership codec: round trips, including extreme ids and large sets") {
  std::vector<Membership> samples = {
      {}, {{1}, {}}, {{kMax}, {}}, {{1, kMax}, {kMax - 1}}, {{}, {5}}, {{2, 4, 8}, {1, 3}}};
  Membership wide;
  for (NodeId id = 1; id <= 1000; ++id) (id % 4 ? wide.voters : wide.learners).push_back(id * 977);
  samples.push_back(wide);
  for (const Membership& m : samples) {
    INFO(describe(m));
    CHECK(decoded(encode(m)) == m);
  }
}

TEST_CASE("membership codec: malformed input is Corruption and leaves *out alone") {
  struct Bad {
    std::string bytes;
    const char* why;
  };
  std::vector<Bad> cases = {
      {"", "truncated version"},
      {bytes_of({3, 0, 0}), "unsupported format version 3"},
      {bytes_of({2, 0, 0}), "truncated address count"},
      {bytes_of({2, 1, 1, 0, 0}), "empty address list"},
      {bytes_of({2, 1, 1, 0, 1, 2, 3, 0x68, 0x3a, 0x31}), "not a member"},
      {bytes_of({2, 1, 1, 0, 1, 1, 0, 0, 0}), "address length 0"},
      {bytes_of({2, 1, 1, 0, 1, 1, 5, 0x68, 0x3a, 0x31}), "address length 5"},
      {bytes_of({2, 1, 1, 0, 1, 1, 1, 0x68, 0x3a}), "1 trailing bytes"},
      {bytes_of({1}), "truncated voters"},
      {bytes_of({1, 0}), "truncated learners"},
      {bytes_of({1, 1, 0x81}), "truncated voters"},
      {bytes_of({1, 1, 0, 0}), "ids must be >= 1"},             // id 0
      {bytes_of({1, 2, 3, 0, 0}), "ids must be >= 1"},          // a duplicate
      {bytes_of({1, 1, 0x81, 0x00, 0}), "non-minimal varint"},  // 1 in two bytes
      {bytes_of({1, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0}),
       "overflows 64 bits"},
      {bytes_of({1, 2, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1, 0}),
       "id overflows 64 bits"},
      {bytes_of({1, 5, 1, 1, 0}), "count 5 exceeds"},
      {bytes_of({1, 1, 3, 1, 3}), "both voter and learner"},
      {bytes_of({1, 0, 0, 9}), "1 trailing bytes"},
  };
  for (const Bad& bad : cases) {
    INFO(bad.why);
    Membership out{{42}, {}};
    Status s = decode_membership(bad.bytes, &out);
    CHECK(s.is_corruption());
    CHECK(s.message().find(bad.why) != std::string::npos);
    CHECK(out == Membership{{42}, {}});
  }
}

TEST_CASE("membership codec: a huge claimed count allocates nothing") {
  // count = 2^63: trusted, it would reserve far beyond memory.
  std::string bytes = bytes_of({1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01});
  Membership out;
  Status s = decode_membership(bytes, &out);
  CHECK(s.is_corruption());
  CHECK(s.message().find("exceeds") != std::string::npos);
}

TEST_CASE("membership codec: random mutations decode canonically or are Corruption") {
  std::mt19937_64 rng(4242);
  Membership sample{{1, 2, 3, 200, 70000}, {9, 1ull << 40}};
  sample.addresses = {{2, "10.1.2.3:9002"}, {1ull << 40, "[::1]:7"}};
  const std::string original = encode(sample);
  for (int trial = 0; trial < 20000; ++trial) {
    std::string bytes = original;
    if (trial % 3 == 0) {
      bytes.resize(rng() % (bytes.size() + 1));
    } else {
      bytes[rng() % bytes.size()] ^= static_cast<char>(1 + rng() % 255);
    }
    Membership out;
    Status s = decode_membership(bytes, &out);
    REQUIRE((s.ok() || s.is_corruption()));
    if (s.ok()) CHECK(encode(out) == bytes);
  }
}

}  // namespace
}  // namespace kv::raft::testing
