#include "chaos/register_model.h"

#include <doctest/doctest.h>

#include <limits>

namespace kv::chaos {
namespace {

ModelOp get(RegisterState expected) { return {OpKind::kGet, {}, expected, true}; }
ModelOp incr(int64_t expected) {
  return {OpKind::kIncr, {}, {RegisterState::Kind::kInt, expected}, true};
}

TEST_CASE("register model: GET, SET and INCR from a missing key") {
  KeyValues values;
  RegisterState s, next;
  CHECK(step(s, get(RegisterState{}), &next));
  CHECK(next == RegisterState{});
  CHECK(step(s, incr(1), &next));
  s = next;
  CHECK_FALSE(step(s, incr(1), &next));
  CHECK(step(s, incr(2), &next));
  const RegisterState a = values.state_for("a");
  CHECK(step(s, ModelOp{OpKind::kSet, a, {}, false}, &next));
  CHECK(next == a);
  CHECK(values.render(next) == "a");
  s = next;
  CHECK(step(s, get(values.state_for_result(std::string("a"))), &next));
  CHECK_FALSE(step(s, get(values.state_for_result(std::string("b"))), &next));
  CHECK_FALSE(step(s, get(RegisterState{}), &next));
  // INCR on a string is a server error: an ok INCR cannot happen there, an unknown one is a no-op.
  CHECK_FALSE(step(s, incr(1), &next));
  CHECK(step(s, ModelOp{OpKind::kIncr, {}, {}, false}, &next));
  CHECK(next == s);
}

TEST_CASE("register model: a SET of an integer string can be incremented") {
  KeyValues values;
  RegisterState next;
  CHECK(step(RegisterState{}, ModelOp{OpKind::kSet, values.state_for("41"), {}, false}, &next));
  CHECK(step(next, incr(42), &next));
  CHECK(values.render(next) == "42");
  CHECK(step(next, get(values.state_for_result(std::string("42"))), &next));
}

TEST_CASE("register model: INCR overflow is an error, as on the server") {
  RegisterState max{RegisterState::Kind::kInt, std::numeric_limits<int64_t>::max()};
  RegisterState next;
  CHECK_FALSE(step(max, incr(0), &next));
}

TEST_CASE("parse_canonical_int accepts only what INCR would") {
  int64_t n = 0;
  CHECK(parse_canonical_int("0", &n));
  CHECK(parse_canonical_int("-12", &n));
  CHECK(n == -12);
  CHECK(parse_canonical_int("9223372036854775807", &n));
  CHECK(parse_canonical_int("-9223372036854775808", &n));
  CHECK(n == std::numeric_limits<int64_t>::min());
  CHECK_FALSE(parse_canonical_int("9223372036854775808", &n));
  CHECK_FALSE(parse_canonical_int("01", &n));
  CHECK_FALSE(parse_canonical_int("-0", &n));
  CHECK_FALSE(parse_canonical_int("+1", &n));
  CHECK_FALSE(parse_canonical_int("", &n));
  CHECK_FALSE(parse_canonical_int("-", &n));
  CHECK_FALSE(parse_canonical_int("1a", &n));
}

}  // namespace
}  // namespace kv::chaos
