#include "common/crc32c.h"

#include <doctest/doctest.h>

#include <string>

TEST_CASE("crc32c matches the standard check values") {
  // RFC 3720 / iSCSI check value for "123456789".
  CHECK(kv::crc32c::value("123456789", 9) == 0xE3069283u);
  std::string zeros(32, '\0');
  CHECK(kv::crc32c::value(zeros.data(), zeros.size()) == 0x8A9136AAu);
  CHECK(kv::crc32c::value("", 0) == 0u);
}

TEST_CASE("crc32c extend equals one-shot over any split") {
  std::string data = "The quick brown fox jumps over the lazy dog, twice over.";
  uint32_t whole = kv::crc32c::value(data.data(), data.size());
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t a = kv::crc32c::value(data.data(), split);
    CHECK(kv::crc32c::extend(a, data.data() + split, data.size() - split) == whole);
  }
}
