#include "chaos/history_format.h"

#include <fmt/core.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_set>
#include <vector>

#include "chaos/register_model.h"

namespace kv::chaos {
namespace {

bool is_plain(unsigned char c) { return c >= 0x21 && c <= 0x7e && c != '"' && c != '%'; }

std::string escape(std::string_view raw) {
  std::string out;
  for (const char ch : raw) {
    const auto c = static_cast<unsigned char>(ch);
    if (is_plain(c)) {
      out.push_back(ch);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string quote(std::string_view raw) { return "\"" + escape(raw) + "\""; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

Result<std::string> unescape(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') return Status::InvalidArgument("stray '\"' in string");
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return Status::InvalidArgument("truncated %XX escape");
    }
    const int hi = hex_digit(text[i + 1]);
    const int lo = hex_digit(text[i + 2]);
    if (hi < 0 || lo < 0) return Status::InvalidArgument("bad %XX escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

Result<std::string> unquote(std::string_view token) {
  if (token.size() < 2 || token.front() != '"' || token.back() != '"') {
    return Status::InvalidArgument(fmt::format("expected a quoted string, got '{}'", token));
  }
  return unescape(token.substr(1, token.size() - 2));
}

template <typename T>
Result<T> parse_number(std::string_view token, std::string_view field) {
  T value{};
  const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (ec != std::errc() || end != token.data() + token.size()) {
    return Status::InvalidArgument(fmt::format("bad {} '{}'", field, token));
  }
  return value;
}

std::vector<std::string_view> split_fields(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

}  // namespace

std::string format_operation(const Operation& op) {
  const bool unknown = op.outcome == Outcome::kUnknown;
  std::string result = "-";
  if (op.result) result = op.kind == OpKind::kIncr ? escape(*op.result) : quote(*op.result);
  if (op.outcome == Outcome::kOk && op.kind == OpKind::kGet && !op.result) result = "nil";
  return fmt::format("{} {} {} {} {} {} {} {} {}", op.id, op.client, op.invoke_ns,
                     unknown ? std::string("-") : std::to_string(op.complete_ns),
                     to_string(op.kind), escape(op.key),
                     op.kind == OpKind::kSet ? quote(op.value) : std::string("-"),
                     to_string(op.outcome), result);
}

std::string format_history(const History& history) {
  std::string out(kHistoryHeader);
  out += "\n";
  for (const Operation& op : history) out += format_operation(op) + "\n";
  return out;
}

Result<Operation> parse_operation(std::string_view line) {
  const std::vector<std::string_view> f = split_fields(line);
  if (f.size() != 9) {
    return Status::InvalidArgument(fmt::format("expected 9 fields, got {}", f.size()));
  }
  Operation op;
  auto id = parse_number<uint64_t>(f[0], "id");
  if (!id.ok()) return id.status();
  op.id = id.value();
  auto client = parse_number<uint32_t>(f[1], "client");
  if (!client.ok()) return client.status();
  op.client = client.value();
  auto invoke = parse_number<int64_t>(f[2], "invoke_ns");
  if (!invoke.ok()) return invoke.status();
  op.invoke_ns = invoke.value();

  if (f[4] == "GET") {
    op.kind = OpKind::kGet;
  } else if (f[4] == "SET") {
    op.kind = OpKind::kSet;
  } else if (f[4] == "INCR") {
    op.kind = OpKind::kIncr;
  } else {
    return Status::InvalidArgument(fmt::format("bad kind '{}'", f[4]));
  }
  auto key = unescape(f[5]);
  if (!key.ok()) return Status::InvalidArgument("key: " + key.status().message());
  op.key = std::move(key.value());
  if (op.kind == OpKind::kSet) {
    auto value = unquote(f[6]);
    if (!value.ok()) return Status::InvalidArgument("SET value: " + value.status().message());
    op.value = std::move(value.value());
  } else if (f[6] != "-") {
    return Status::InvalidArgument(fmt::format("{} takes no argument, got '{}'", f[4], f[6]));
  }

  if (f[7] == "ok") {
    op.outcome = Outcome::kOk;
  } else if (f[7] == "fail") {
    op.outcome = Outcome::kFail;
  } else if (f[7] == "unknown") {
    op.outcome = Outcome::kUnknown;
  } else {
    return Status::InvalidArgument(fmt::format("bad outcome '{}'", f[7]));
  }
  if (f[3] == "-" && op.outcome == Outcome::kUnknown) {
    op.complete_ns = op.invoke_ns;
  } else {
    auto complete = parse_number<int64_t>(f[3], "complete_ns");
    if (!complete.ok()) return complete.status();
    op.complete_ns = complete.value();
  }

  const std::string_view r = f[8];
  if (r == "nil" && op.kind != OpKind::kGet) {
    return Status::InvalidArgument(fmt::format("{} cannot return nil", f[4]));
  }
  if (r == "-") {
    // no result
  } else if (op.kind == OpKind::kGet && r == "nil") {
    // nil read: result stays nullopt
  } else if (op.kind == OpKind::kIncr) {
    int64_t n = 0;
    if (!parse_canonical_int(r, &n)) {
      return Status::InvalidArgument(fmt::format("bad INCR result '{}'", r));
    }
    op.result = std::string(r);
  } else {
    auto value = unquote(r);
    if (!value.ok()) return Status::InvalidArgument("result: " + value.status().message());
    op.result = std::move(value.value());
  }
  if (op.outcome == Outcome::kOk && op.kind == OpKind::kGet && r == "-") {
    return Status::InvalidArgument("ok GET needs a result (a quoted string or nil)");
  }
  if (op.outcome != Outcome::kOk && r == "nil") {
    return Status::InvalidArgument("only an ok GET has a result");
  }
  Status valid = validate_operation(op);
  if (!valid.ok()) return valid;
  return op;
}

Result<History> parse_history(std::string_view text) {
  History history;
  std::unordered_set<uint64_t> ids;
  size_t line_number = 0;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const size_t first = line.find_first_not_of(" \t");
    if (first == std::string_view::npos || line[first] == '#') continue;
    auto op = parse_operation(line);
    if (!op.ok()) {
      return Status::InvalidArgument(
          fmt::format("line {}: {}", line_number, op.status().message()));
    }
    if (!ids.insert(op.value().id).second) {
      return Status::InvalidArgument(
          fmt::format("line {}: duplicate id {}", line_number, op.value().id));
    }
    history.push_back(std::move(op.value()));
  }
  return history;
}

Status write_history_file(const std::string& path, const History& history) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
  out << format_history(history);
  out.flush();
  if (!out) return Status::IOError(fmt::format("{}: write failed", path));
  return Status::OK();
}

Result<History> read_history_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IOError(fmt::format("{}: {}", path, std::strerror(errno)));
  std::ostringstream buffer;
  buffer << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("{}: read failed", path));
  auto history = parse_history(buffer.str());
  if (!history.ok()) return Status::InvalidArgument(path + ": " + history.status().message());
  return history;
}

}  // namespace kv::chaos
