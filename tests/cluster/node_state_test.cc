#include "cluster/node_state.h"

#include <doctest/doctest.h>

#include <vector>

namespace kv::cluster {
namespace {

using S = NodeState;
using E = NodeEvent;
using A = NodeAction;

const std::vector<S> kStates = {S::kStopped, S::kStarting, S::kRunning, S::kUnresponsive,
                                S::kBackoff, S::kFailed,   S::kStopping};
const std::vector<E> kEvents = {E::kStart,     E::kStop,        E::kKill,
                                E::kProbeOk,   E::kProbeFailed, E::kCrashed,
                                E::kCrashLoop, E::kExited,      E::kBackoffElapsed};

void check(S from, E event, S to, A action) {
  INFO(state_name(from) << " x " << event_name(event));
  Transition t = transition(from, event);
  CHECK(state_name(t.next) == state_name(to));
  CHECK(static_cast<int>(t.action) == static_cast<int>(action));
}

TEST_CASE("the life of a node: start, ready, crash, backoff, restart, stop") {
  check(S::kStopped, E::kStart, S::kStarting, A::kSpawn);
  check(S::kStarting, E::kProbeFailed, S::kStarting, A::kNone);  // not up yet: keep waiting
  check(S::kStarting, E::kProbeOk, S::kRunning, A::kReportReady);
  check(S::kRunning, E::kProbeOk, S::kRunning, A::kNone);
  check(S::kRunning, E::kProbeFailed, S::kUnresponsive, A::kReportUnresponsive);
  check(S::kUnresponsive, E::kProbeOk, S::kRunning, A::kReportReady);
  check(S::kRunning, E::kCrashed, S::kBackoff, A::kScheduleRestart);
  check(S::kBackoff, E::kBackoffElapsed, S::kStarting, A::kSpawn);
  check(S::kStarting, E::kCrashLoop, S::kFailed, A::kReportFailed);
  check(S::kFailed, E::kStart, S::kStarting, A::kSpawn);  // re-armed by an operator
  check(S::kRunning, E::kStop, S::kStopping, A::kSendTerm);
  check(S::kStopping, E::kKill, S::kStopping, A::kSendKill);
  check(S::kStopping, E::kExited, S::kStopped, A::kNone);
}

TEST_CASE("stop requests in every state") {
  check(S::kStopped, E::kStop, S::kStopped, A::kNone);
  check(S::kBackoff, E::kStop, S::kStopped, A::kCancelRestart);
  check(S::kFailed, E::kStop, S::kStopped, A::kNone);
  check(S::kStarting, E::kStop, S::kStopping, A::kSendTerm);
  check(S::kUnresponsive, E::kStop, S::kStopping, A::kSendTerm);
  check(S::kUnresponsive, E::kKill, S::kStopping, A::kSendKill);
  check(S::kStopping, E::kStop, S::kStopping, A::kNone);    // already on its way
  check(S::kStopping, E::kCrashed, S::kStopped, A::kNone);  // any exit while stopping is the stop
}

TEST_CASE("events that do not apply change nothing") {
  check(S::kStopped, E::kProbeOk, S::kStopped, A::kNone);
  check(S::kBackoff, E::kProbeOk, S::kBackoff, A::kNone);
  check(S::kFailed, E::kBackoffElapsed, S::kFailed, A::kNone);
  check(S::kRunning, E::kStart, S::kRunning, A::kNone);
  check(S::kStopping, E::kProbeOk, S::kStopping, A::kNone);
}

TEST_CASE("the table is total and a process exists exactly where one is expected") {
  for (S s : kStates) {
    for (E e : kEvents) {
      Transition t = transition(s, e);
      INFO(state_name(s) << " x " << event_name(e) << " -> " << state_name(t.next));
      // Spawning always lands in starting; signalling only happens where a process exists.
      if (t.action == A::kSpawn) CHECK(t.next == S::kStarting);
      if (t.action == A::kSendTerm || t.action == A::kSendKill) CHECK(has_process(s));
      if (t.action == A::kScheduleRestart) CHECK(t.next == S::kBackoff);
      CHECK(state_name(t.next) != "?");
    }
  }
  CHECK_FALSE(has_process(S::kBackoff));
  CHECK(has_process(S::kStopping));
}

}  // namespace
}  // namespace kv::cluster
