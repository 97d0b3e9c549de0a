// The cluster secret: what the nodes of a raft-mode cluster present to each other (KVPEER), so
// that a client cannot pose as a peer. kvcluster hands it to every node in its environment
// (KV_CLUSTER_SECRET), never on the command line, which any user can read in ps.
// Where it comes from: cluster.json "secret" when set; otherwise <state_dir>/secret, created on
// the first `up` (32 random hex characters, mode 0600) and reused by every later one, so that
// restarted nodes still recognise each other. No function here ever prints the value, and
// errors never quote it. Stateless.
#pragma once

#include <set>
#include <string>
#include <string_view>

#include "cluster/cluster_config.h"
#include "common/status.h"

namespace kv::cluster {

inline constexpr const char* kSecretEnvVar = "KV_CLUSTER_SECRET";
inline constexpr const char* kSecretFileName = "secret";  // in the state directory

// Why text cannot be a secret ("is empty", "contains a control character"); empty when it can.
// It travels in an environment variable and a protocol argument: no NUL, no line breaks.
std::string secret_problem(std::string_view text);

// 32 lowercase hex characters (128 bits) from /dev/urandom.
Result<std::string> random_secret();

// <state_dir>/secret.
std::string secret_file_path(const std::string& state_dir);

// The secret kept in <state_dir>/secret, created if missing (written to a temp file with mode
// 0600, fsynced, renamed into place, directory fsynced). A trailing newline in the file is not
// part of the secret. Errors name the file and what is wrong with it: not a regular file,
// readable by group or others (fix: chmod 600), empty or otherwise unusable (fix: delete it;
// a new one is generated, and every node must restart to learn it).
// REQUIRES: state_dir exists and the caller holds the supervisor lock (no two creators race).
Result<std::string> load_or_create_secret(const std::string& state_dir);

// What the nodes get in raft mode: config.secret, else load_or_create_secret(config.state_dir).
Result<std::string> cluster_secret(const ClusterConfig& config);

// Raft mode with nodes on other machines (not in local_ids): each machine's kvcluster gives its
// nodes the secret, so all must use the same one, and a secret generated here would be this
// machine's alone. InvalidArgument, naming the fix, when cluster.json has no "secret" and
// <state_dir>/secret does not exist (one copied from the machine that made it is fine).
Status check_secret_shared(const ClusterConfig& config, const std::set<int>& local_ids);

}  // namespace kv::cluster
