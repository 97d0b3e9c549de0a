// kv_client: send one command to a kvstore node and print the reply.
//   kv_client [--host H] [--port P] [--secret S] put K V | get K | del K... | ping
//             | info [section] | member add ID HOST:PORT | member remove ID | member list
//             | leader transfer ID | <any command> [args...]
// Exit codes: 0 ok; 1 get of a missing key; 2 connection error, server error or bad usage.
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "client/admin_command.h"
#include "client/admin_runner.h"
#include "client/client.h"

namespace {

using kv::protocol::Reply;

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Raw form for scripts (stdout is not a terminal): values as they are, one per line.
void print_raw(const Reply& r) {
  switch (r.type) {
    case Reply::Type::kSimpleString:
    case Reply::Type::kBulkString:
      std::fwrite(r.str.data(), 1, r.str.size(), stdout);
      std::fputc('\n', stdout);
      break;
    case Reply::Type::kInteger:
      std::printf("%lld\n", static_cast<long long>(r.integer));
      break;
    case Reply::Type::kNil:
    case Reply::Type::kNilArray:
      std::fputc('\n', stdout);
      break;
    case Reply::Type::kArray:
      for (const auto& e : r.elements) print_raw(e);
      break;
    case Reply::Type::kError:
      break;
  }
}

// Sends AUTH secret first. An explicit --secret must be accepted. One from the environment
// is only refused for good by a node holding another secret (-WRONGPASS): the variable is
// often set for a whole shell, and a standalone node or another Redis-protocol server has no
// secret to check it against. Returns false after printing the one error line.
bool authenticate(kv::client::Client& client, const std::string& secret, bool from_env,
                  const std::string& where) {
  auto reply = client.call({"AUTH", secret});
  if (!reply.ok()) {
    std::fprintf(stderr, "kv_client: %s: AUTH: %s\n", where.c_str(),
                 reply.status().message().c_str());
    return false;
  }
  if (reply->type != Reply::Type::kError) return true;
  if (from_env && reply->str.rfind("WRONGPASS", 0) != 0) return true;
  std::fprintf(stderr, "kv_client: %s refused AUTH (secret from %s): %s\n", where.c_str(),
               from_env ? "KV_CLUSTER_SECRET" : "--secret", reply->str.c_str());
  return false;
}

// INFO raft of the node at addr ("host:port"), over a connection of its own.
kv::Result<std::string> info_raft_at(const std::string& addr, std::chrono::milliseconds timeout) {
  std::string host;
  uint16_t port = 0;
  if (std::string why = kv::client::parse_host_port(addr, &host, &port); !why.empty()) {
    return kv::Status::InvalidArgument(addr + ": " + why);
  }
  auto client = kv::client::Client::connect(host, port, timeout);
  if (!client.ok()) return client.status();
  client->set_timeout(timeout);
  auto reply = client->call({"INFO", "raft"});
  if (!reply.ok()) return reply.status();
  if (reply->type != Reply::Type::kBulkString) {
    return kv::Status::InvalidArgument(addr + ": INFO raft replied " + reply->to_display());
  }
  return reply->str;
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  uint16_t port = 9001;
  int timeout_ms = 5000;
  CLI::App app{
      "kv_client: send one command to a kvstore node (or any Redis-protocol server).\n\n"
      "Commands:\n"
      "  put KEY VALUE      store VALUE under KEY (SET); prints OK\n"
      "  get KEY            print the value; a missing key prints nothing and exits 1\n"
      "  del KEY...         delete keys; prints how many existed\n"
      "  ping               prints PONG\n"
      "  info [SECTION]     the node's INFO text\n"
      "  ANY COMMAND...     sent as is, e.g. incr counter, mget a b, dbsize, raft promote 4\n\n"
      "Membership of a raft group (need the cluster secret: --secret or KV_CLUSTER_SECRET):\n"
      "  member add ID HOST:PORT  add node ID (a kvstore started with --join) as a learner,\n"
      "                           wait until it has caught up (up to --wait-ms), promote it\n"
      "                           to voter; one line per step\n"
      "  member remove ID         remove node ID from the group (then stop it)\n"
      "  member list              one line per member: id, address, role (leader, voter,\n"
      "                           learner), match index and lag (known to the leader; '-'\n"
      "                           otherwise); tab-separated, no header, in a pipe\n"
      "  leader transfer ID       make voter ID the leader\n"
      "These retry while the cluster answers -TRYAGAIN, until --wait-ms has passed.\n\n"
      "Output is redis-cli style on a terminal and raw values (one per line) in a pipe.\n"
      "Exit codes: 0 ok, 1 missing key (get), 2 connection error, server error, refused AUTH\n"
      "or bad usage.",
      "kv_client"};
  app.set_version_flag("--version", std::string("kv_client ") + KV_VERSION);
  app.add_option("-H,--host", host, "Server host")->capture_default_str();
  app.add_option("-p,--port", port, "Server port")->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "Connect and reply timeout")->capture_default_str();
  std::string secret;
  auto* secret_opt = app.add_option(
      "--secret", secret,
      "Cluster secret: sent with AUTH before the command (default: $KV_CLUSTER_SECRET, where "
      "only a node holding another secret makes kv_client fail)");
  int wait_ms = 60000;
  app.add_option("--wait-ms", wait_ms,
                 "member and leader subcommands: how long to retry -TRYAGAIN replies")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.prefix_command();  // everything after the first word is the command, untouched
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "kv_client: %s (see kv_client --help)\n", e.what());
    return 2;
  }
  std::vector<std::string> words = app.remaining();
  if (words.empty()) {
    std::fprintf(stderr, "kv_client: no command given (see kv_client --help)\n");
    return 2;
  }
  bool secret_from_env = false;
  if (secret_opt->count() == 0) {
    if (const char* env = std::getenv("KV_CLUSTER_SECRET"); env != nullptr && *env != '\0') {
      secret = env;
      secret_from_env = true;
    }
  }
  std::optional<kv::client::AdminCommand> admin;
  if (kv::client::is_admin_command(words)) {
    auto parsed = kv::client::parse_admin_command(words);
    if (!parsed.ok()) {
      std::fprintf(stderr, "kv_client: %s\n", parsed.status().message().c_str());
      return 2;
    }
    admin = std::move(parsed).value();
  }
  std::string verb = lower(words[0]);
  bool is_get = verb == "get";
  if (verb == "put") {
    if (words.size() != 3) {
      std::fprintf(stderr, "kv_client: usage: put KEY VALUE\n");
      return 2;
    }
    words[0] = "SET";
  } else if (is_get && words.size() != 2) {
    std::fprintf(stderr, "kv_client: usage: get KEY\n");
    return 2;
  }

  auto client = kv::client::Client::connect(host, port, std::chrono::milliseconds(timeout_ms));
  if (!client.ok()) {
    std::fprintf(stderr, "kv_client: %s\n", client.status().message().c_str());
    return 2;
  }
  client->set_timeout(std::chrono::milliseconds(timeout_ms));
  const std::string where = host + ":" + std::to_string(port);
  if (!secret.empty() && !authenticate(*client, secret, secret_from_env, where)) return 2;
  if (admin) {
    kv::client::AdminOptions options;
    options.wait = std::chrono::milliseconds(wait_ms);
    options.pretty = ::isatty(STDOUT_FILENO);
    options.self_addr = where;
    kv::client::AdminIo io;
    io.call = [&](const std::vector<std::string>& argv) { return client->call(argv); };
    io.leader_info = [&](const std::string& addr) {
      return info_raft_at(addr, std::chrono::milliseconds(timeout_ms));
    };
    io.print = [](const std::string& line) {
      std::fwrite(line.data(), 1, line.size(), stdout);
      std::fputc('\n', stdout);
      std::fflush(stdout);
    };
    std::string error;
    const int code = kv::client::run_admin(*admin, options, io, &error);
    if (code != 0) std::fprintf(stderr, "%s\n", error.c_str());
    return code;
  }
  auto reply = client->call(words);
  if (!reply.ok()) {
    std::fprintf(stderr, "kv_client: %s:%u: %s\n", host.c_str(), port, reply.status().message().c_str());
    return 2;
  }
  const Reply& r = *reply;
  if (r.type == Reply::Type::kError) {
    std::fprintf(stderr, "(error) %s\n", r.str.c_str());
    return 2;
  }
  if (is_get) {
    if (r.type == Reply::Type::kNil) return 1;
    std::fwrite(r.str.data(), 1, r.str.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  if (verb == "info" && r.type == Reply::Type::kBulkString) {
    std::string text = r.str;
    text.erase(std::remove(text.begin(), text.end(), '\r'), text.end());
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  if (::isatty(STDOUT_FILENO)) {
    std::printf("%s\n", r.to_display().c_str());
  } else {
    print_raw(r);
  }
  return 0;
}
