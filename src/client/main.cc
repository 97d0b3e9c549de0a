// kv_client: send one command to a kvstore node and print the reply.
//   kv_client [--host H] [--port P] put K V | get K | del K... | ping | info [section]
//                                   | <any command> [args...]
// Exit codes: 0 ok; 1 get of a missing key; 2 connection error, server error or bad usage.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <string>
#include <vector>

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
      "  ANY COMMAND...     sent as is, e.g. incr counter, mget a b, dbsize\n\n"
      "Output is redis-cli style on a terminal and raw values (one per line) in a pipe.\n"
      "Exit codes: 0 ok, 1 missing key (get), 2 connection error, server error or bad usage.",
      "kv_client"};
  app.set_version_flag("--version", std::string("kv_client ") + KV_VERSION);
  app.add_option("-H,--host", host, "Server host")->capture_default_str();
  app.add_option("-p,--port", port, "Server port")->capture_default_str();
  app.add_option("--timeout-ms", timeout_ms, "Connect and reply timeout")->capture_default_str();
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
