#include "server/server.h"

#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>

#include <fmt/core.h>

#include "common/logging.h"
#include "net/socket_util.h"
#include "protocol/resp_writer.h"
#include "server/command_table.h"
#include "server/string_util.h"

namespace kv::server {
namespace {

constexpr size_t kReadChunk = 64 * 1024;
// Stop reading from a client whose unread replies pass this; resume once they drain.
constexpr size_t kOutputHighWater = 64 * 1024 * 1024;
constexpr std::chrono::milliseconds kTickInterval{100};
// Stop reading from a client with this many replies still being decided (raft mode).
constexpr size_t kMaxWaitingReplies = 64 * 1024;

std::string peer_name(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  if (::getpeername(fd, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "?";
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    ::inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    ::inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
    port = ntohs(a->sin6_port);
  }
  return fmt::format("{}:{}", host, port);
}

}  // namespace

Result<int> Server::bind_listener(const ServerConfig& config) {
  return net::listen_tcp(config.bind, config.port);
}

Server::Server(ServerConfig config, net::EventLoop* loop, Store* store, int listen_fd)
    : config_(std::move(config)),
      loop_(loop),
      store_(store),
      listen_fd_(listen_fd),
      read_buf_(kReadChunk),
      started_at_(std::chrono::steady_clock::now()) {
  auto port = net::local_port(listen_fd_);
  port_ = port.ok() ? *port : config_.port;
}

Server::~Server() { shutdown(); }

Status Server::start() {
  Status s = loop_->add(listen_fd_, EPOLLIN, [this](uint32_t) { on_accept(); });
  if (!s.ok()) return s;
  loop_->set_before_sleep([this] {
    // Order matters: the log sync first, then the replies it covers.
    if (raft_ != nullptr) {
      raft_->before_sleep();
    } else {
      store_->sync_for_replies();
    }
    flush_outputs();
  });
  arm_tick();
  return Status::OK();
}

void Server::set_raft(RaftHost* raft) {
  raft_ = raft;
  // Replies to committed writes leave before the fsync of the next batch, not after it.
  raft_->set_flush_replies([this] { flush_outputs(); });
}

void Server::arm_tick() {
  tick_timer_ = loop_->run_after(kTickInterval, [this] {
    store_->tick();
    if (raft_ != nullptr) raft_->tick_housekeeping();
    arm_tick();
  });
}

void Server::shutdown() {
  if (listen_fd_ >= 0) {
    loop_->remove(listen_fd_);
    ::close(listen_fd_);
    listen_fd_ = -1;
  }
  loop_->cancel_timer(tick_timer_);
  store_->sync_for_replies();
  for (auto& c : conns_) {
    if (!c) continue;
    write_output(c.get());  // best effort: replies already covered by the sync above
  }
  for (auto& c : conns_) {
    if (c) close_connection(c.get());
  }
}

void Server::on_accept() {
  for (;;) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
      if (errno == EMFILE || errno == ENFILE) {
        log::warn("accept: {} (raise the fd limit or lower --max-clients)", std::strerror(errno));
        return;
      }
      log::warn("accept: {}", std::strerror(errno));
      return;
    }
    stats_.connections_received++;
    if (clients_ >= config_.max_clients) {
      stats_.connections_rejected++;
      static constexpr std::string_view kFull = "-ERR max number of clients reached\r\n";
      [[maybe_unused]] ssize_t n = ::write(fd, kFull.data(), kFull.size());
      ::close(fd);
      continue;
    }
    net::set_nodelay(fd);
    if (static_cast<size_t>(fd) >= conns_.size()) conns_.resize(fd + 1);
    protocol::ParserLimits limits;
    limits.max_bulk_len = config_.max_bulk_bytes;
    limits.max_multibulk_len = config_.max_args;
    conns_[fd] = std::make_unique<Connection>(fd, next_client_id_++, limits);
    conns_[fd]->peer = peer_name(fd);
    clients_++;
    Status s = loop_->add(fd, EPOLLIN, [this, fd](uint32_t events) { on_event(fd, events); });
    if (!s.ok()) {
      log::warn("cannot watch client socket: {}", s.ToString());
      close_connection(conns_[fd].get());
    }
  }
}

void Server::on_event(int fd, uint32_t events) {
  Connection* conn = find(fd);
  if (conn == nullptr) return;
  if (events & (EPOLLERR | EPOLLHUP)) {
    if (!(events & EPOLLIN)) {
      close_connection(conn);
      return;
    }
  }
  if (events & EPOLLOUT) queue_output(conn);  // written in the pre-sleep hook
  if ((events & EPOLLIN) && conn->reading) on_readable(conn);
}

void Server::on_readable(Connection* conn) {
  ssize_t n = ::read(conn->fd, read_buf_.data(), read_buf_.size());
  if (n == 0) {
    // The client closed its side: answer what it already sent, then close.
    conn->closing = true;
    queue_output(conn);
    update_interest(conn);
    return;
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    close_connection(conn);
    return;
  }
  std::string_view input(read_buf_.data(), static_cast<size_t>(n));
  while (!input.empty() && !conn->closing) {
    size_t consumed = 0;
    auto result = conn->parser.feed(input, &consumed);
    input.remove_prefix(consumed);
    conn->request_bytes += consumed;
    if (result == protocol::ParseResult::kComplete) {
      conn->request_bytes = 0;
      auto& args = conn->parser.mutable_args();
      if (!args.empty()) execute(conn, args);
    } else if (result == protocol::ParseResult::kError) {
      stats_.protocol_errors++;
      protocol::write_error(&conn->out, "ERR " + conn->parser.error());
      conn->closing = true;
    } else if (conn->request_bytes > config_.max_request_bytes) {
      stats_.protocol_errors++;
      protocol::write_error(&conn->out, fmt::format("ERR Protocol error: request larger than {} bytes",
                                                    config_.max_request_bytes));
      conn->closing = true;
    }
  }
  queue_output(conn);
  update_interest(conn);
}

void Server::execute(Connection* conn, std::vector<std::string>& args) {
  stats_.commands_processed++;
  const CommandSpec* spec = CommandTable::instance().find(args[0]);
  if (spec == nullptr) {
    if (execute_peer_command(conn, args)) return;
    if (execute_admin_command(conn, args)) return;
    reply_unknown_command(reply_buffer(conn), args);
    return;
  }
  if (!CommandTable::arity_ok(*spec, args.size())) {
    reply_wrong_arity(reply_buffer(conn), args[0]);
    return;
  }
  if (raft_ != nullptr && (spec->flags & (kWrite | kReadOnly))) {
    const bool local_read = (spec->flags & kReadOnly) && !(spec->flags & kWrite) &&
                            (conn->readonly || config_.unsafe_local_reads);
    if (!local_read) {
      // Replicated: the reply comes back later through deliver(), in command order.
      raft_->submit(*spec, args, open_slot(conn), conn->peer_id != 0, &conn->last_write_index);
      return;
    }
  } else if (spec->flags & kWrite) {
    // Standalone. Log before apply: the log, not the key space, is the source of truth. The
    // reply waits in conn->out until the pre-sleep hook has synced this record.
    store_->log_command(args);
  }
  CommandContext ctx{args, reply_buffer(conn), &store_->keys(), this, conn};
  spec->handler(ctx);
}

// KVPEER <secret> <id> and KVRAFT <message>: the internal commands members send each
// other (peer_link.h). Returns false when args is not one of them.
bool Server::execute_peer_command(Connection* conn, std::vector<std::string>& args) {
  const bool is_raft = equals_ignore_case(args[0], "kvraft");
  const bool is_hello = equals_ignore_case(args[0], "kvpeer");
  if (!is_raft && !is_hello) return false;
  if (is_hello) {
    const std::optional<uint64_t> id = args.size() == 3 ? parse_uint64(args[2]) : std::nullopt;
    const bool ok = raft_ != nullptr && id && !raft_->secret().empty() &&
                    args[1] == raft_->secret() && raft_->is_member(*id) && *id != config_.node_id;
    if (!ok) {
      protocol::write_error(reply_buffer(conn), "NOAUTH not a member of this cluster (wrong secret or id)");
      conn->closing = true;
      return true;
    }
    conn->peer_id = *id;
    protocol::write_simple(reply_buffer(conn), "OK");
    return true;
  }
  if (conn->peer_id == 0 || args.size() != 2) {
    protocol::write_error(reply_buffer(conn), "NOAUTH KVRAFT is for cluster members (KVPEER first)");
    conn->closing = true;
    return true;
  }
  raft_->receive(args[1]);  // no reply: Raft answers with messages of its own
  return true;
}

// AUTH <cluster secret> and RAFT <subcommand> ...: membership changes for operators
// (raft_host.h). Returns false when args is not one of them.
bool Server::execute_admin_command(Connection* conn, std::vector<std::string>& args) {
  const bool is_auth = equals_ignore_case(args[0], "auth");
  const bool is_raft = equals_ignore_case(args[0], "raft");
  if (!is_auth && !is_raft) return false;
  if (raft_ == nullptr || raft_->secret().empty()) {
    protocol::write_error(reply_buffer(conn),
                          is_auth ? "ERR AUTH called without a cluster secret configured"
                                  : "ERR RAFT commands need a replicated node (start kvstore with --peers)");
    return true;
  }
  if (is_auth) {
    // AUTH <secret>, or AUTH <user> <secret> as redis-cli --user sends it.
    if (args.size() != 2 && args.size() != 3) {
      reply_wrong_arity(reply_buffer(conn), args[0]);
    } else if (args.back() == raft_->secret()) {
      conn->admin = true;
      protocol::write_simple(reply_buffer(conn), "OK");
    } else {
      conn->admin = false;
      protocol::write_error(reply_buffer(conn), "WRONGPASS invalid cluster secret");
    }
    return true;
  }
  if (!conn->admin && conn->peer_id == 0) {
    protocol::write_error(reply_buffer(conn), "NOAUTH Authentication required");
    return true;
  }
  raft_->submit_admin(args, open_slot(conn), conn->peer_id != 0);
  return true;
}

std::string* Server::reply_buffer(Connection* conn) {
  if (conn->waiting.empty()) return &conn->out;
  conn->waiting.push_back({conn->next_seq++, true, {}});
  return &conn->waiting.back().reply;
}

ReplyTo Server::open_slot(Connection* conn) {
  conn->waiting.push_back({conn->next_seq++, false, {}});
  return ReplyTo{conn->fd, conn->id, conn->waiting.back().seq};
}

void Server::deliver(const ReplyTo& to, std::string reply) {
  Connection* conn = find(to.fd);
  if (conn == nullptr || conn->id != to.conn_id || conn->waiting.empty()) return;  // gone
  uint64_t first = conn->waiting.front().seq;
  if (to.seq < first || to.seq - first >= conn->waiting.size()) return;
  ReplySlot& slot = conn->waiting[to.seq - first];
  slot.done = true;
  slot.reply = std::move(reply);
  drain_slots(conn);
}

void Server::drain_slots(Connection* conn) {
  bool moved = false;
  while (!conn->waiting.empty() && conn->waiting.front().done) {
    conn->out += conn->waiting.front().reply;
    conn->waiting.pop_front();
    moved = true;
  }
  if (moved) {
    queue_output(conn);
    update_interest(conn);
  }
}

void Server::queue_output(Connection* conn) {
  if (conn->pending) return;
  conn->pending = true;
  pending_.emplace_back(conn->fd, conn->id);
}

void Server::flush_outputs() {
  // Swap first: write_output may close connections, which must not touch the list we walk.
  std::vector<std::pair<int, uint64_t>> work;
  work.swap(pending_);
  for (auto [fd, id] : work) {
    Connection* conn = find(fd);
    if (conn == nullptr || conn->id != id) continue;
    conn->pending = false;
    write_output(conn);
  }
  if (pending_.capacity() < work.capacity()) {
    work.clear();
    pending_.swap(work);  // keep the bigger allocation for the next round
  }
}

void Server::write_output(Connection* conn) {
  size_t off = 0;
  while (off < conn->out.size()) {
    ssize_t n = ::write(conn->fd, conn->out.data() + off, conn->out.size() - off);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    close_connection(conn);  // EPIPE, ECONNRESET: the client is gone
    return;
  }
  conn->out.erase(0, off);
  if (conn->out.empty() && conn->out.capacity() > kReadChunk * 4) conn->out.shrink_to_fit();
  if (conn->out.empty() && conn->closing && conn->waiting.empty()) {
    close_connection(conn);
    return;
  }
  update_interest(conn);
}

void Server::update_interest(Connection* conn) {
  // A member's link is always read: it carries the Raft messages that let its forwarded
  // commands commit, so pausing it for their replies could stall them for good.
  bool want_read = !conn->closing && conn->out.size() < kOutputHighWater &&
                   (conn->waiting.size() < kMaxWaitingReplies || conn->peer_id != 0);
  bool want_write = !conn->out.empty() && !conn->pending;
  if (want_read == conn->reading && want_write == conn->writing) return;
  conn->reading = want_read;
  conn->writing = want_write;
  uint32_t events = (want_read ? uint32_t{EPOLLIN} : 0u) | (want_write ? uint32_t{EPOLLOUT} : 0u);
  Status s = loop_->modify(conn->fd, events);
  if (!s.ok()) close_connection(conn);
}

void Server::close_connection(Connection* conn) {
  int fd = conn->fd;
  loop_->remove(fd);
  ::close(fd);
  clients_--;
  conns_[fd].reset();
}

}  // namespace kv::server
