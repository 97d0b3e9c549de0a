#include "raft/message.h"

#include <fmt/core.h>

#include "raft/membership.h"

namespace kv::raft {

namespace {

std::string describe_body(const VoteRequest& m) {
  return fmt::format("{}{} last={}/{}", m.pre_vote ? "PreVote" : "RequestVote",
                     m.transfer ? " transfer" : "", m.last_log_index, m.last_log_term);
}
std::string describe_body(const VoteResponse& m) {
  return fmt::format("{} {}", m.pre_vote ? "PreVoteResponse" : "VoteResponse",
                     m.granted ? "granted" : "rejected");
}
std::string describe_body(const AppendRequest& m) {
  return fmt::format("AppendRequest prev={}/{} n={} commit={}", m.prev_index, m.prev_term,
                     m.entries.size(), m.commit);
}
std::string describe_body(const AppendResponse& m) {
  if (m.success) {
    return fmt::format("AppendResponse ok match={} accepted={}", m.match_index, m.accepted_index);
  }
  return fmt::format("AppendResponse reject={} hint={}/{}", m.reject_index, m.hint_index,
                     m.hint_term);
}
std::string describe_body(const Heartbeat& m) {
  return fmt::format("Heartbeat commit={} seq={}", m.commit, m.read_seq);
}
std::string describe_body(const HeartbeatResponse& m) {
  return fmt::format("HeartbeatResponse seq={}", m.read_seq);
}
std::string describe_body(const SnapshotChunk& m) {
  return fmt::format("SnapshotChunk snap={}/{} {} off={} len={}{}", m.meta.last_index,
                     m.meta.last_term, describe(m.meta.membership), m.offset, m.data.size(),
                     m.done ? " done" : "");
}
std::string describe_body(const SnapshotResponse& m) {
  return fmt::format("SnapshotResponse snap={} next={}", m.snapshot_index, m.next_offset);
}
std::string describe_body(const TimeoutNow&) { return "TimeoutNow"; }

}  // namespace

std::string describe(const Message& message) {
  std::string body = std::visit([](const auto& m) { return describe_body(m); }, message.body);
  return fmt::format("{}->{} t{} {}", message.from, message.to, message.term, body);
}

}  // namespace kv::raft
