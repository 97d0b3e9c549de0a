#include "client/admin_command.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <map>

namespace kv::client {
namespace {

constexpr char kAddUsage[] = "usage: member add ID HOST:PORT";
constexpr char kRemoveUsage[] = "usage: member remove ID";
constexpr char kListUsage[] = "usage: member list";
constexpr char kTransferUsage[] = "usage: leader transfer ID";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

Status parse_id(const std::string& word, uint64_t* id) {
  auto v = parse_u64(word);
  if (!v || *v == 0)
    return Status::InvalidArgument("node id '" + word + "': must be a number >= 1");
  *id = *v;
  return Status::OK();
}

// "1,2,3" -> {1, 2, 3}; items that are not numbers are skipped.
std::vector<uint64_t> parse_id_list(std::string_view text) {
  std::vector<uint64_t> ids;
  while (!text.empty()) {
    const size_t comma = text.find(',');
    if (auto v = parse_u64(text.substr(0, comma))) ids.push_back(*v);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return ids;
}

// "addr=H:P,match=M,lag=L,link=up,role=voter" -> value of `key`, nullopt if absent.
std::optional<std::string> attribute(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    const size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    const size_t eq = item.find('=');
    if (eq != std::string_view::npos && item.substr(0, eq) == key) {
      return std::string(item.substr(eq + 1));
    }
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return std::nullopt;
}

std::string or_dash(const std::optional<uint64_t>& v) { return v ? std::to_string(*v) : "-"; }

}  // namespace

bool is_admin_command(const std::vector<std::string>& words) {
  if (words.empty()) return false;
  const std::string verb = lower(words[0]);
  return verb == "member" || verb == "leader";
}

Result<AdminCommand> parse_admin_command(const std::vector<std::string>& words) {
  const std::string verb = lower(words.at(0));
  const std::string sub = words.size() > 1 ? lower(words[1]) : "";
  AdminCommand cmd;
  if (verb == "leader") {
    if (sub != "transfer" || words.size() != 3) return Status::InvalidArgument(kTransferUsage);
    cmd.kind = AdminKind::kLeaderTransfer;
    if (Status s = parse_id(words[2], &cmd.id); !s.ok()) return s;
    return cmd;
  }
  if (sub == "add") {
    if (words.size() != 4) return Status::InvalidArgument(kAddUsage);
    cmd.kind = AdminKind::kMemberAdd;
    if (Status s = parse_id(words[2], &cmd.id); !s.ok()) return s;
    std::string host;
    uint16_t port = 0;
    if (std::string why = parse_host_port(words[3], &host, &port); !why.empty()) {
      return Status::InvalidArgument("address '" + words[3] + "': " + why);
    }
    cmd.addr = words[3];
    return cmd;
  }
  if (sub == "remove") {
    if (words.size() != 3) return Status::InvalidArgument(kRemoveUsage);
    cmd.kind = AdminKind::kMemberRemove;
    if (Status s = parse_id(words[2], &cmd.id); !s.ok()) return s;
    return cmd;
  }
  if (sub == "list") {
    if (words.size() != 2) return Status::InvalidArgument(kListUsage);
    cmd.kind = AdminKind::kMemberList;
    return cmd;
  }
  return Status::InvalidArgument("usage: member add ID HOST:PORT | member remove ID | member list");
}

std::string parse_host_port(std::string_view addr, std::string* host, uint16_t* port) {
  const size_t colon = addr.rfind(':');
  if (colon == std::string_view::npos) return "not host:port";
  if (colon == 0) return "host is empty";
  auto p = parse_u64(addr.substr(colon + 1));
  if (!p || *p == 0 || *p > 65535) return "port must be 1-65535";
  *host = std::string(addr.substr(0, colon));
  *port = static_cast<uint16_t>(*p);
  return "";
}

std::optional<std::string> info_value(std::string_view info, std::string_view field) {
  while (!info.empty()) {
    const size_t nl = info.find('\n');
    std::string_view line = info.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > field.size() && line.substr(0, field.size()) == field &&
        line[field.size()] == ':') {
      return std::string(line.substr(field.size() + 1));
    }
    if (nl == std::string_view::npos) break;
    info.remove_prefix(nl + 1);
  }
  return std::nullopt;
}

std::vector<MemberRow> parse_member_rows(std::string_view info, const std::string& self_addr) {
  const auto self = parse_u64(info_value(info, "node_id").value_or(""));
  if (!self) return {};
  const uint64_t leader = parse_u64(info_value(info, "leader_id").value_or("")).value_or(0);
  const bool self_leads = info_value(info, "role") == "leader";
  const auto voters_field = info_value(info, "voters");
  const auto learners_field = info_value(info, "learners");
  const bool knows_config = voters_field.has_value() || learners_field.has_value();

  std::map<uint64_t, MemberRow> rows;
  auto row = [&](uint64_t id) -> MemberRow& {
    MemberRow& r = rows[id];
    r.id = id;
    return r;
  };
  for (uint64_t id : parse_id_list(voters_field.value_or(""))) row(id).role = "voter";
  for (uint64_t id : parse_id_list(learners_field.value_or(""))) row(id).role = "learner";
  if (!knows_config) row(*self).role = "voter";

  // peer_<id> lines: every other member, with its address (and match/lag on the leader).
  for (std::string_view rest = info; !rest.empty();) {
    const size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, 5) != "peer_") continue;
    const size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    const auto id = parse_u64(line.substr(5, colon - 5));
    if (!id) continue;
    const std::string_view attrs = line.substr(colon + 1);
    if (knows_config && !rows.count(*id)) continue;  // a link to a node that left
    MemberRow& r = row(*id);
    r.addr = attribute(attrs, "addr").value_or("");
    if (auto m = attribute(attrs, "match")) r.match = parse_u64(*m);
    if (auto l = attribute(attrs, "lag")) r.lag = parse_u64(*l);
    if (r.role.empty()) r.role = attribute(attrs, "role").value_or("voter");
  }

  std::vector<MemberRow> out;
  for (auto& [id, r] : rows) {
    if (id == *self) {
      r.addr = self_leads ? info_value(info, "leader_addr").value_or(self_addr) : self_addr;
      if (self_leads) {
        // The leader's own log is its match index by definition.
        r.match = parse_u64(info_value(info, "last_index").value_or(""));
        if (r.match) r.lag = 0;
      }
    }
    if (id == leader && r.role == "voter") r.role = "leader";
    out.push_back(std::move(r));
  }
  return out;
}

std::string format_member_rows(const std::vector<MemberRow>& rows, bool pretty) {
  std::vector<std::vector<std::string>> cells;
  if (pretty) cells.push_back({"ID", "ADDR", "ROLE", "MATCH", "LAG"});
  for (const MemberRow& r : rows) {
    cells.push_back({std::to_string(r.id), r.addr.empty() ? "-" : r.addr, r.role, or_dash(r.match),
                     or_dash(r.lag)});
  }
  std::vector<size_t> width(5, 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::string out;
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      out += line[i];
      if (i + 1 == line.size()) break;
      out += pretty ? std::string(width[i] - line[i].size() + 2, ' ') : "\t";
    }
    out += '\n';
  }
  return out;
}

}  // namespace kv::client
