// The life cycle of one supervised node as an explicit state machine (s6-supervise style):
// transition(state, event) -> (next state, action). Pure and table-driven; the Supervisor
// feeds it events (process exited, probe answered, operator asked) and performs the actions.
// Decisions that need more than the state (restart now or give up?) are made by the caller
// before it picks the event (kCrashed vs kCrashLoop), so the table stays total and small.
#pragma once

#include <string_view>

namespace kv::cluster {

enum class NodeState {
  kStopped,       // no process, none wanted (not started yet, or stopped on request)
  kStarting,      // process running, not yet answering PING
  kRunning,       // process running and answering
  kUnresponsive,  // process running, stopped answering probes
  kBackoff,       // process exited unexpectedly; a restart is scheduled
  kFailed,        // crash loop: gave up until an operator re-arms it
  kStopping,      // SIGTERM sent, waiting for the exit (SIGKILL after the stop timeout)
};

enum class NodeEvent {
  kStart,           // operator/config wants it up (also re-arms a failed node)
  kStop,            // operator/config wants it down
  kKill,            // stop now: SIGKILL (second Ctrl-C, stop timeout)
  kProbeOk,         // answered PING
  kProbeFailed,     // missed enough probes in a row
  kCrashed,         // exited unasked; the restart policy says restart
  kCrashLoop,       // exited unasked; the restart policy says give up
  kExited,          // exited after being asked to stop
  kBackoffElapsed,  // the restart delay is over
};

enum class NodeAction {
  kNone,
  kSpawn,               // fork/exec the node
  kScheduleRestart,     // arm the backoff timer
  kCancelRestart,       // disarm the backoff timer
  kReportFailed,        // say why the node failed, with its last output
  kSendTerm,            // SIGTERM to the node's process group, arm the stop timer
  kSendKill,            // SIGKILL to the node's process group
  kReportReady,         // first answer of this run (or answering again)
  kReportUnresponsive,  // a running node stopped answering
};

struct Transition {
  NodeState next;
  NodeAction action;
};

// Total: every (state, event) pair has an answer; pairs that make no sense leave the state
// unchanged with kNone (e.g. kProbeOk arriving for a process that just exited).
Transition transition(NodeState state, NodeEvent event);

// "running", "backoff", ...: the words of `kvcluster status`.
std::string_view state_name(NodeState state);
std::string_view event_name(NodeEvent event);
// A process exists in this state (it may need signalling and reaping).
bool has_process(NodeState state);

}  // namespace kv::cluster
