#include "server/string_util.h"

#include <doctest/doctest.h>

using kv::server::parse_int64;

TEST_CASE("integers parse as strictly as Redis's string2ll") {
  CHECK(parse_int64("0") == 0);
  CHECK(parse_int64("-12") == -12);
  CHECK(parse_int64("9223372036854775807") == INT64_MAX);
  CHECK(parse_int64("-9223372036854775808") == INT64_MIN);
  CHECK_FALSE(parse_int64("9223372036854775808"));
  CHECK_FALSE(parse_int64(""));
  CHECK_FALSE(parse_int64("-"));
  CHECK_FALSE(parse_int64("+1"));
  CHECK_FALSE(parse_int64(" 1"));
  CHECK_FALSE(parse_int64("1 "));
  CHECK_FALSE(parse_int64("007"));
  CHECK_FALSE(parse_int64("-0"));
  CHECK_FALSE(parse_int64("1.5"));
  CHECK(kv::server::equals_ignore_case("NX", "nx"));
  CHECK_FALSE(kv::server::equals_ignore_case("NX", "nxx"));
}
