#include "cri/streaming/runtime.h"

namespace berth::cri::streaming {

void ResizeQueue::Push(TerminalSize size) {
  absl::MutexLock lock(&mu_);
  if (closed_) return;
  if (events_.size() >= kMaxPending) events_.pop_front();
  events_.push_back(size);
}

void ResizeQueue::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
}

bool ResizeQueue::closed() {
  absl::MutexLock lock(&mu_);
  return closed_;
}

std::optional<TerminalSize> ResizeQueue::NextWithTimeout(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return closed_ || !events_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (events_.empty()) return std::nullopt;
  TerminalSize size = events_.front();
  events_.pop_front();
  return size;
}

std::optional<TerminalSize> ResizeQueue::Next() {
  return NextWithTimeout(absl::InfiniteDuration());
}

}  // namespace berth::cri::streaming
