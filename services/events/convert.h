// Envelope <-> wire messages (gRPC and ttrpc envelopes have the same fields).
#pragma once

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "plugins/events/exchange.h"

namespace berth::services {

inline absl::Time FromTimestamp(const google::protobuf::Timestamp& ts) {
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

inline void ToTimestamp(absl::Time t, google::protobuf::Timestamp* out) {
  int64_t ns = absl::ToUnixNanos(t);
  out->set_seconds(ns / 1000000000);
  out->set_nanos(static_cast<int32_t>(ns % 1000000000));
}

// E is containerd.services.events.v1.Envelope or its ttrpc twin.
template <typename E>
events::Envelope FromProtoEnvelope(const E& in) {
  events::Envelope e;
  e.timestamp = in.has_timestamp() ? FromTimestamp(in.timestamp()) : absl::Now();
  e.ns = in.namespace_();
  e.topic = in.topic();
  e.event = in.event();
  return e;
}

template <typename E>
void ToProtoEnvelope(const events::Envelope& in, E* out) {
  ToTimestamp(in.timestamp, out->mutable_timestamp());
  out->set_namespace_(in.ns);
  out->set_topic(in.topic);
  *out->mutable_event() = in.event;
}

}  // namespace berth::services
