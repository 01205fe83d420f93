// The small interface every domain core uses to announce what it changed (containerd's
// events.Publisher). The implementation is the events exchange (exchange.h); cores take a
// Publisher* so tests can pass a recording fake.
//
// Topics are containerd's: /containers/create|update|delete, /tasks/create|start|exit|delete|
// exec-added|exec-started|paused|resumed|oom, /images/create|update|delete,
// /namespaces/create|update|delete, /snapshot/prepare|commit|remove, /content/delete.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"

namespace berth::events {

class Publisher {
 public:
  virtual ~Publisher() = default;

  // Publishes `event` under `topic` in namespace `ns`, stamped with the current time. The event
  // travels as an Any whose type_url is the bare message name ("containerd.events.TaskExit"),
  // as containerd's typeurl writes it, so stock clients can decode it.
  // InvalidArgument for an empty/invalid topic or namespace. Never blocks on subscribers.
  virtual absl::Status Publish(const std::string& ns, const std::string& topic,
                               const google::protobuf::Message& event) = 0;
};

// Packs a message the way containerd's typeurl does (type_url = full message name).
inline google::protobuf::Any PackEvent(const google::protobuf::Message& event) {
  google::protobuf::Any any;
  any.set_type_url(event.GetDescriptor()->full_name());
  event.SerializeToString(any.mutable_value());
  return any;
}

}  // namespace berth::events
