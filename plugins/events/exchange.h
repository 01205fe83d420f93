// The events exchange (io.containerd.event.v1.exchange): fan-out of event envelopes to
// subscribers, each with its own bounded queue.
//
// A subscriber that falls more than its queue's capacity behind is dropped (its Next() then
// returns ResourceExhausted): a slow client never grows the daemon's memory and never slows
// publishers. Publishing takes one short lock and copies the envelope into matching queues.
#pragma once

#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/filters.h"
#include "google/protobuf/any.pb.h"
#include "plugins/events/publisher.h"

namespace berth::events {

struct Envelope {
  absl::Time timestamp;
  std::string ns;
  std::string topic;
  google::protobuf::Any event;
};

// Field lookup for filters: "topic", "namespace", and "event.<field>[.<field>...]" on the
// decoded event (proto field names; maps give "event.labels.<key>").
filters::Adaptor EnvelopeAdaptor(const Envelope& envelope);

// Validates a topic: begins with '/', non-empty components of [A-Za-z0-9_.-].
absl::Status ValidateTopic(const std::string& topic);

class Subscription {
 public:
  // Waits up to `timeout` for the next envelope. DeadlineExceeded on timeout (call again),
  // ResourceExhausted when the subscriber was dropped for falling behind, Cancelled after
  // Close().
  absl::StatusOr<Envelope> Next(absl::Duration timeout);
  // Ends the subscription; a blocked Next() returns Cancelled.
  void Close();

 private:
  friend class Exchange;
  Subscription(std::unique_ptr<filters::Filter> filter, size_t capacity)
      : filter_(std::move(filter)), capacity_(capacity) {}
  // Called by the exchange with its lock held; false when the subscriber is gone.
  bool Offer(const Envelope& envelope);

  std::unique_ptr<filters::Filter> filter_;
  const size_t capacity_;
  absl::Mutex mu_;
  std::deque<Envelope> queue_ ABSL_GUARDED_BY(mu_);
  bool dropped_ ABSL_GUARDED_BY(mu_) = false;
  bool closed_ ABSL_GUARDED_BY(mu_) = false;
};

class Exchange : public Publisher {
 public:
  static constexpr size_t kDefaultQueueCapacity = 1024;
  explicit Exchange(size_t queue_capacity = kDefaultQueueCapacity) : capacity_(queue_capacity) {}

  absl::Status Publish(const std::string& ns, const std::string& topic,
                       const google::protobuf::Message& event) override;
  // Publish with an already-packed event (gRPC Publish). Same errors as Publish.
  absl::Status PublishAny(const std::string& ns, const std::string& topic,
                          google::protobuf::Any event);
  // Dispatches an envelope that already carries timestamp and namespace (Forward).
  // InvalidArgument for a bad topic/namespace or a missing event.
  absl::Status Forward(Envelope envelope);

  // Subscribes with containerd filters (alternatives; none = everything). InvalidArgument for a
  // filter that does not parse.
  absl::StatusOr<std::shared_ptr<Subscription>> Subscribe(const std::vector<std::string>& filters);

  // In-process listeners run synchronously on the publisher's thread after every dispatch (the
  // runtime records task exits this way). They must be quick and must not publish.
  using Listener = std::function<void(const Envelope&)>;
  void AddListener(Listener listener);

  size_t SubscriberCountForTest();

 private:
  const size_t capacity_;
  absl::Mutex mu_;
  std::vector<std::shared_ptr<Subscription>> subscribers_ ABSL_GUARDED_BY(mu_);
  std::vector<Listener> listeners_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::events
