// Messages Raft peers exchange. The core produces them in Ready::messages and consumes them
// in RaftNode::step(); the host carries them (encoding is the host's business). Every
// message carries the sender's current term, which is how stale leaders learn they are stale.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "raft/types.h"

namespace kv::raft {

// RequestVote, or PreVote when pre_vote is set. A PreVote carries the term the candidate
// *would* use (its term + 1) and changes no state on the receiver. `transfer` marks the
// election a leader asked for with TimeoutNow: voters answer it even while they still hear
// from that leader (CheckQuorum's vote suppression would otherwise drop it).
struct VoteRequest {
  bool pre_vote = false;
  Index last_log_index = 0;
  Term last_log_term = 0;
  bool transfer = false;
};

// A granted PreVote response carries the requested term; anything else the voter's term.
struct VoteResponse {
  bool pre_vote = false;
  bool granted = false;
};

struct AppendRequest {
  Index prev_index = 0;  // the entry just before `entries`
  Term prev_term = 0;
  std::vector<Entry> entries;  // consecutive, starting at prev_index + 1; may be empty
  Index commit = 0;            // the leader's commit index
};

struct AppendResponse {
  bool success = false;
  // On success: the follower's log matches the leader's through match_index and those
  // entries are durable; through accepted_index they match but may not be durable yet.
  Index match_index = 0;
  Index accepted_index = 0;
  // On rejection: the prev_index that did not match, plus the fast-backtracking hint
  // (dissertation 5.3): the follower's term at prev_index (0 if its log is shorter) and the
  // first index it holds with that term (or its last index + 1).
  Index reject_index = 0;
  Term hint_term = 0;
  Index hint_index = 0;
};

// Keeps followers from starting elections and, through read_seq, confirms leadership for
// ReadIndex. `commit` is at most what the follower has acknowledged, so it can be applied
// without checking the log.
struct Heartbeat {
  Index commit = 0;
  uint64_t read_seq = 0;
};

struct HeartbeatResponse {
  uint64_t read_seq = 0;
};

// One chunk of a snapshot; the follower assembles chunks by offset. meta.membership is the
// configuration at the snapshot's last index, which the follower adopts on installing it.
struct SnapshotChunk {
  SnapshotMeta meta;
  uint64_t offset = 0;
  std::string data;
  bool done = false;  // this is the last chunk
};

// Acknowledges non-final chunks: the offset the follower expects next. The final chunk is
// acknowledged with an AppendResponse once the installed snapshot is durable.
struct SnapshotResponse {
  Index snapshot_index = 0;
  uint64_t next_offset = 0;
};

// Leadership transfer (dissertation 3.10): the leader, having brought the receiver's log up
// to date, asks it to start an election now, without PreVote and without waiting for its
// election timeout.
struct TimeoutNow {};

using MessageBody =
    std::variant<VoteRequest, VoteResponse, AppendRequest, AppendResponse, Heartbeat,
                 HeartbeatResponse, SnapshotChunk, SnapshotResponse, TimeoutNow>;

struct Message {
  NodeId from = kNoNode;
  NodeId to = kNoNode;
  Term term = 0;
  MessageBody body;
};

// One line for traces and logs: "2->3 t5 AppendRequest prev=7/4 n=2 commit=6".
std::string describe(const Message& message);

}  // namespace kv::raft
