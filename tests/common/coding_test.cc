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

TEST_CASE("decoding into a vector that held another argv leaves exactly the new one") {
  std::string longer, shorter;
  encode_argv({"MSET", "a-key-longer-than-sso", "1", "k2", "2"}, &longer);
  encode_argv({"set", "k", std::string(40, 'v')}, &shorter);
  std::vector<std::string> out;
  REQUIRE(decode_argv(longer, &out).ok());
  REQUIRE(decode_argv(shorter, &out).ok());
  CHECK(out == std::vector<std::string>{"set", "k", std::string(40, 'v')});
  REQUIRE(decode_argv(longer, &out).ok());
  CHECK(out == std::vector<std::string>{"MSET", "a-key-longer-than-sso", "1", "k2", "2"});
  // A corrupt payload leaves nothing behind.
  CHECK(decode_argv(std::string_view(longer).substr(0, 10), &out).is_corruption());
  CHECK(out.empty());
}

TEST_CASE("argv_at views one argument without decoding; too short a payload gives empty") {
  std::string payload;
  encode_argv({"SET", "key:1", std::string("a\0b", 3)}, &payload);
  CHECK(kv::coding::argv_at(payload, 0) == "SET");
  CHECK(kv::coding::argv_at(payload, 1) == "key:1");
  CHECK(kv::coding::argv_at(payload, 2) == std::string_view("a\0b", 3));
  CHECK(kv::coding::argv_at(payload, 3).empty());
  for (size_t n = 0; n < payload.size(); ++n) {
    CAPTURE(n);
    // Never reads past the cut: the view, when there is one, lies inside it.
    std::string_view cut = std::string_view(payload).substr(0, n);
    std::string_view key = kv::coding::argv_at(cut, 1);
    if (!key.empty()) CHECK(key.data() + key.size() <= cut.data() + cut.size());
  }
  CHECK(kv::coding::argv_at("", 0).empty());
}

TEST_CASE("a batch holds its commands in order; each decodes to the argv appended") {
  std::string batch = "left over";
  kv::coding::start_batch(&batch);
  CHECK(kv::coding::batch_count(batch) == 0);
  std::vector<std::string_view> commands = {"stale"};
  REQUIRE(kv::coding::split_batch(batch, &commands).ok());
  CHECK(commands.empty());

  const std::vector<std::vector<std::string>> in = {
      {"SET", "k", std::string("a\0b", 3)}, {"INCR", "n"}, {"DEL", "k", "other", ""}};
  for (const auto& argv : in) kv::coding::append_to_batch(argv, &batch);
  CHECK(kv::coding::batch_count(batch) == 3);
  REQUIRE(kv::coding::split_batch(batch, &commands).ok());
  REQUIRE(commands.size() == 3);
  std::vector<std::string> out;
  for (size_t i = 0; i < in.size(); ++i) {
    REQUIRE(decode_argv(commands[i], &out).ok());
    CHECK(out == in[i]);
    CHECK(kv::coding::argv_at(commands[i], 1) == in[i][1]);
  }
}

TEST_CASE("split_batch rejects every truncation, trailing garbage and a huge count") {
  std::string batch;
  kv::coding::start_batch(&batch);
  kv::coding::append_to_batch({"SET", "k", "v"}, &batch);
  kv::coding::append_to_batch({"INCR", "n"}, &batch);
  std::vector<std::string_view> commands;
  for (size_t n = 0; n < batch.size(); ++n) {
    CAPTURE(n);
    CHECK(kv::coding::split_batch(std::string_view(batch).substr(0, n), &commands).is_corruption());
    CHECK(commands.empty());
  }
  CHECK(kv::coding::split_batch(batch + "x", &commands).is_corruption());
  std::string bogus;
  kv::coding::put_fixed32(&bogus, 0xffffffffu);
  CHECK(kv::coding::split_batch(bogus, &commands).is_corruption());
}
