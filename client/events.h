// The events service: a stream of envelopes (topic + an Any holding a containerd.events.*
// message), filtered with containerd filters ('topic=="/tasks/exit"', 'namespace==default').
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "client/connection.h"
#include "containerd/services/events/v1/events.grpc.pb.h"

namespace berth::client {

namespace evpb = ::containerd::services::events::v1;

// The event inside an envelope as JSON ({} when its type is unknown to this build).
std::string EventToJson(const google::protobuf::Any& event);

class Events {
 public:
  explicit Events(std::shared_ptr<Connection> conn);

  // Subscribes and calls `on_event` for each envelope until it returns false, Cancel() is
  // called, or the stream ends. Blocks. OK after a callback/Cancel stop; otherwise the
  // stream's error (Unavailable when the daemon went away).
  absl::Status Subscribe(const std::vector<std::string>& filters,
                         const std::function<bool(const evpb::Envelope&)>& on_event,
                         const CallOptions& call = {});
  // Ends a Subscribe running on another thread.
  void Cancel();

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<evpb::Events::Stub> stub_;
  std::mutex mu_;
  grpc::ClientContext* active_ = nullptr;  // guarded by mu_
  bool cancelled_ = false;                 // guarded by mu_
};

}  // namespace berth::client
