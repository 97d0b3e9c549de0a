#include "common/coding.h"

#include <doctest/doctest.h>

using kv::coding::decode_argv;
using kv::coding::encode_argv;

TEST_CASE("fixed-width integers round-trip little-endian") {
  std::string buf;
  kv::coding::put_fixed32(&buf, 0x01020304u);
  kv::coding::put_fixed64(&buf, 0x0102030405060708ull);
  REQUIRE(buf.size() == 12);
  CHECK(buf[0] == 0x04);
  CHECK(kv::coding::decode_fixed32(buf.data()) == 0x01020304u);
  CHECK(kv::coding::decode_fixed64(buf.data() + 4) == 0x0102030405060708ull);
}

TEST_CASE("argv codec round-trips binary arguments") {
  std::vector<std::string> in = {"SET", "key", std::string("a\0b\r\n", 5), ""};
  std::string payload;
  encode_argv(in, &payload);
  std::vector<std::string> out;
  REQUIRE(decode_argv(payload, &out).ok());
  CHECK(out == in);
}

TEST_CASE("argv codec rejects every truncation and trailing garbage") {
  std::vector<std::string> in = {"SET", "k", "value"};
  std::string payload;
  encode_argv(in, &payload);
  std::vector<std::string> out;
  for (size_t n = 0; n < payload.size(); ++n) {
    CHECK(decode_argv(std::string_view(payload).substr(0, n), &out).is_corruption());
  }
  CHECK(decode_argv(payload + "x", &out).is_corruption());
  // A huge count must be refused before any allocation.
  std::string bogus;
  kv::coding::put_fixed32(&bogus, 0xffffffffu);
  CHECK(decode_argv(bogus, &out).is_corruption());
}
