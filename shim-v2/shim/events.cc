#include "shim-v2/shim/events.h"

#include "containerd/services/ttrpc/events/v1/events.pb.h"
#include "shim-v2/shim/log.h"
#include "shim-v2/ttrpc/context.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::shim {

Publisher::Publisher(std::string ttrpc_address, std::string ns)
    : address_(std::move(ttrpc_address)), ns_(std::move(ns)) {}

void Publisher::Publish(const std::string& topic, const google::protobuf::MessageLite& event) {
  if (address_.empty()) return;
  containerd::services::events::ttrpc::v1::ForwardRequest req;
  auto* env = req.mutable_envelope();
  absl::Time now = absl::Now();
  env->mutable_timestamp()->set_seconds(absl::ToUnixSeconds(now));
  env->mutable_timestamp()->set_nanos(
      static_cast<int32_t>(absl::ToInt64Nanoseconds(now - absl::FromUnixSeconds(absl::ToUnixSeconds(now)))));
  env->set_namespace_(ns_);
  env->set_topic(topic);
  // Bare full name, no "type.googleapis.com/" prefix: what containerd's typeurl registers.
  env->mutable_event()->set_type_url(event.GetTypeName());
  env->mutable_event()->set_value(event.SerializeAsString());
  absl::MutexLock lock(&mu_);
  queue_.push_back(req.SerializeAsString());
  if (!started_) {
    started_ = ttrpc::StartDetached([this] { Loop(); }, 128 * 1024).ok();
  }
}

absl::Status Publisher::Send(const std::string& request) {
  absl::Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (client_ == nullptr) {
      auto c = ttrpc::Client::Dial(address_);
      if (!c.ok()) {
        last = c.status();
        absl::SleepFor(absl::Milliseconds(100 << attempt));
        continue;
      }
      client_ = std::move(c).value();
    }
    auto r = client_->Call("containerd.services.events.ttrpc.v1.Events", "Forward", request,
                           {{ttrpc::kNamespaceKey, ns_}}, absl::Seconds(5));
    if (r.ok()) return absl::OkStatus();
    last = r.status();
    if (r.status().code() == absl::StatusCode::kUnavailable) client_.reset();
    absl::SleepFor(absl::Milliseconds(100 << attempt));
  }
  return last;
}

void Publisher::Loop() {
  while (true) {
    std::string req;
    {
      absl::MutexLock lock(&mu_);
      busy_ = false;
      mu_.Await(absl::Condition(
          +[](std::deque<std::string>* q) { return !q->empty(); }, &queue_));
      req = std::move(queue_.front());
      queue_.pop_front();
      busy_ = true;
    }
    absl::Status st = Send(req);
    if (!st.ok()) Log("warn", absl::StrCat("publish event: ", st.ToString()));
  }
}

void Publisher::Flush(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto idle = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return queue_.empty() && !busy_; };
  mu_.AwaitWithTimeout(absl::Condition(&idle), timeout);
}

}  // namespace berth::shim
