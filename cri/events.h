// Fan-out of CRI container events (GetContainerEvents, kubelet's evented PLEG) to every open
// stream. Each subscriber has a bounded queue; a subscriber that falls `capacity` events behind
// is dropped (its stream ends), as containerd drops a slow CRI event listener, so one stuck
// client never blocks lifecycle calls or grows the daemon's memory.
//
// Thread-safety: all methods may be called from any thread.
#pragma once

#include <cstddef>
#include <deque>
#include <list>
#include <memory>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "proto/cri_api.h"

namespace berth::cri {

class EventBroker;

class EventSubscription {
 public:
  // Waits up to `timeout` for the next event. Returns true with *out filled; false on timeout
  // or when the subscription was closed (check closed()).
  bool Next(::runtime::v1::ContainerEventResponse* out, absl::Duration timeout);
  // True once dropped for being slow or once the broker shut down.
  bool closed();

 private:
  friend class EventBroker;
  absl::Mutex mu_;
  std::deque<::runtime::v1::ContainerEventResponse> queue_ ABSL_GUARDED_BY(mu_);
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class EventBroker {
 public:
  explicit EventBroker(size_t capacity = 1000) : capacity_(capacity) {}
  ~EventBroker() { Shutdown(); }

  // A new subscriber sees the events published after this call.
  std::shared_ptr<EventSubscription> Subscribe();
  // Removes the subscription (stream ended); unknown ones are fine.
  void Unsubscribe(const std::shared_ptr<EventSubscription>& sub);
  // Copies the event to every subscriber; a full one is closed and removed.
  void Publish(const ::runtime::v1::ContainerEventResponse& ev);
  // Closes every subscription (daemon shutdown).
  void Shutdown();
  size_t subscribers();

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::list<std::shared_ptr<EventSubscription>> subs_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::cri
