// Publishes task events to containerd the way containerd 1.6's shim does: a ttrpc call to
// containerd.services.events.ttrpc.v1.Events/Forward on TTRPC_ADDRESS with an Envelope
// {timestamp, namespace, topic, Any(event)}; the Any's type_url is the bare message name
// ("containerd.events.TaskExit"), as containerd's typeurl writes it. Sending happens on one
// background thread (started on first use) so handlers never wait on containerd.
#pragma once

#include <deque>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "google/protobuf/message_lite.h"
#include "shim-v2/ttrpc/client.h"

namespace berth::shim {

class Publisher {
 public:
  // ttrpc_address: containerd's ttrpc socket ("" disables publishing).
  Publisher(std::string ttrpc_address, std::string ns);

  // Queues `event` under `topic` ("/tasks/exit").
  void Publish(const std::string& topic, const google::protobuf::MessageLite& event);

  // Waits up to `timeout` until the queue is empty (before the shim exits).
  void Flush(absl::Duration timeout);

 private:
  void Loop();
  absl::Status Send(const std::string& envelope_request);

  std::string address_, ns_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);  // serialized ForwardRequests
  bool started_ ABSL_GUARDED_BY(mu_) = false;
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  std::unique_ptr<ttrpc::Client> client_;  // used by the loop thread only
};

}  // namespace berth::shim
