#include "cluster/node_state.h"

namespace kv::cluster {

Transition transition(NodeState state, NodeEvent event) {
  using S = NodeState;
  using E = NodeEvent;
  using A = NodeAction;
  const Transition stay{state, A::kNone};
  switch (state) {
    case S::kStopped:
    case S::kFailed:
      if (event == E::kStart) return {S::kStarting, A::kSpawn};
      if (event == E::kStop && state == S::kFailed) return {S::kStopped, A::kNone};
      return stay;
    case S::kBackoff:
      switch (event) {
        case E::kBackoffElapsed:
          return {S::kStarting, A::kSpawn};
        case E::kStart:
          return {S::kStarting, A::kSpawn};  // restart now, skip the wait
        case E::kStop:
        case E::kKill:
          return {S::kStopped, A::kCancelRestart};
        default:
          return stay;
      }
    case S::kStarting:
    case S::kRunning:
    case S::kUnresponsive:
      switch (event) {
        case E::kProbeOk:
          return state == S::kRunning ? stay : Transition{S::kRunning, A::kReportReady};
        case E::kProbeFailed:
          return state == S::kRunning ? Transition{S::kUnresponsive, A::kReportUnresponsive} : stay;
        case E::kCrashed:
          return {S::kBackoff, A::kScheduleRestart};
        case E::kCrashLoop:
          return {S::kFailed, A::kReportFailed};
        case E::kExited:
          return {S::kBackoff, A::kScheduleRestart};  // not asked: a crash
        case E::kStop:
          return {S::kStopping, A::kSendTerm};
        case E::kKill:
          return {S::kStopping, A::kSendKill};
        default:
          return stay;
      }
    case S::kStopping:
      switch (event) {
        case E::kKill:
          return {S::kStopping, A::kSendKill};
        case E::kExited:
        case E::kCrashed:
        case E::kCrashLoop:
          return {S::kStopped, A::kNone};
        default:
          return stay;
      }
  }
  return stay;
}

std::string_view state_name(NodeState state) {
  switch (state) {
    case NodeState::kStopped:
      return "stopped";
    case NodeState::kStarting:
      return "starting";
    case NodeState::kRunning:
      return "running";
    case NodeState::kUnresponsive:
      return "unresponsive";
    case NodeState::kBackoff:
      return "backoff";
    case NodeState::kFailed:
      return "failed";
    case NodeState::kStopping:
      return "stopping";
  }
  return "?";
}

std::string_view event_name(NodeEvent event) {
  switch (event) {
    case NodeEvent::kStart:
      return "start";
    case NodeEvent::kStop:
      return "stop";
    case NodeEvent::kKill:
      return "kill";
    case NodeEvent::kProbeOk:
      return "probe-ok";
    case NodeEvent::kProbeFailed:
      return "probe-failed";
    case NodeEvent::kCrashed:
      return "crashed";
    case NodeEvent::kCrashLoop:
      return "crash-loop";
    case NodeEvent::kExited:
      return "exited";
    case NodeEvent::kBackoffElapsed:
      return "backoff-elapsed";
  }
  return "?";
}

bool has_process(NodeState state) {
  return state == NodeState::kStarting || state == NodeState::kRunning ||
         state == NodeState::kUnresponsive || state == NodeState::kStopping;
}

}  // namespace kv::cluster
