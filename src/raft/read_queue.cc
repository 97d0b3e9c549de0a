#include "raft/read_queue.h"

namespace kv::raft {

void ReadQueue::add(uint64_t request_id, Index index) {
  pending_.push_back({request_id, index, last_round_ + 1});
}

void ReadQueue::unpark(Index index) {
  for (uint64_t id : parked_) add(id, index);
  parked_.clear();
}

void ReadQueue::confirm(uint64_t seq, std::vector<ReadState>* out) {
  while (!pending_.empty() && pending_.front().seq <= seq) {
    out->push_back({pending_.front().request_id, pending_.front().index});
    pending_.pop_front();
  }
}

void ReadQueue::drop_all(std::vector<uint64_t>* out) {
  for (const Pending& read : pending_) out->push_back(read.request_id);
  for (uint64_t id : parked_) out->push_back(id);
  pending_.clear();
  parked_.clear();
}

}  // namespace kv::raft
