#include "client/events.h"

#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/util/json_util.h"

namespace berth::client {

std::string EventToJson(const google::protobuf::Any& event) {
  // containerd's type URLs are bare message names ("containerd.events.TaskExit").
  absl::string_view name = event.type_url();
  if (auto slash = name.rfind('/'); slash != absl::string_view::npos) name.remove_prefix(slash + 1);
  const auto* desc =
      google::protobuf::DescriptorPool::generated_pool()->FindMessageTypeByName(std::string(name));
  if (desc == nullptr) return "{}";
  const google::protobuf::Message* proto =
      google::protobuf::MessageFactory::generated_factory()->GetPrototype(desc);
  if (proto == nullptr) return "{}";
  std::unique_ptr<google::protobuf::Message> msg(proto->New());
  if (!msg->ParseFromString(event.value())) return "{}";
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(*msg, &out, opts).ok()) return "{}";
  return out;
}

Events::Events(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)), stub_(evpb::Events::NewStub(conn_->channel())) {}

absl::Status Events::Subscribe(const std::vector<std::string>& filters,
                               const std::function<bool(const evpb::Envelope&)>& on_event,
                               const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = false;
    active_ = ctx.get();
  }
  evpb::SubscribeRequest req;
  for (const auto& f : filters) req.add_filters(f);
  auto reader = stub_->Subscribe(ctx.get(), req);
  evpb::Envelope env;
  bool stopped = false;
  while (reader->Read(&env)) {
    if (!on_event(env)) {
      stopped = true;
      ctx->TryCancel();
      break;
    }
  }
  grpc::Status s = reader->Finish();
  std::lock_guard<std::mutex> lock(mu_);
  active_ = nullptr;
  if (stopped || cancelled_) return absl::OkStatus();
  return FromGrpc(s, "subscribe to events");
}

void Events::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  cancelled_ = true;
  if (active_ != nullptr) active_->TryCancel();
}

}  // namespace berth::client
