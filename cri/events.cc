#include "cri/events.h"

namespace berth::cri {

bool EventSubscription::Next(::runtime::v1::ContainerEventResponse* out, absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return closed_ || !queue_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  // Events queued before a close are still delivered, so the stream ends after them.
  if (queue_.empty()) return false;
  *out = std::move(queue_.front());
  queue_.pop_front();
  return true;
}

bool EventSubscription::closed() {
  absl::MutexLock lock(&mu_);
  return closed_ && queue_.empty();
}

std::shared_ptr<EventSubscription> EventBroker::Subscribe() {
  auto sub = std::make_shared<EventSubscription>();
  absl::MutexLock lock(&mu_);
  subs_.push_back(sub);
  return sub;
}

void EventBroker::Unsubscribe(const std::shared_ptr<EventSubscription>& sub) {
  absl::MutexLock lock(&mu_);
  subs_.remove(sub);
}

void EventBroker::Publish(const ::runtime::v1::ContainerEventResponse& ev) {
  absl::MutexLock lock(&mu_);
  for (auto it = subs_.begin(); it != subs_.end();) {
    EventSubscription* s = it->get();
    absl::MutexLock sl(&s->mu_);
    if (s->queue_.size() >= capacity_) {
      // Slow subscriber: drop it rather than block the lifecycle call or buffer without bound.
      s->closed_ = true;
      s->queue_.clear();
      it = subs_.erase(it);
      continue;
    }
    s->queue_.push_back(ev);
    ++it;
  }
}

void EventBroker::Shutdown() {
  absl::MutexLock lock(&mu_);
  for (auto& s : subs_) {
    absl::MutexLock sl(&s->mu_);
    s->closed_ = true;
  }
  subs_.clear();
}

size_t EventBroker::subscribers() {
  absl::MutexLock lock(&mu_);
  return subs_.size();
}

}  // namespace berth::cri
