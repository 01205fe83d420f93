#include "plugins/events/exchange.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/identifiers.h"
#include "core/status_macros.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "google/protobuf/reflection.h"

namespace berth::events {
namespace {

namespace gp = ::google::protobuf;

// Decodes an Any into a generated message (events are all linked in through proto_types).
std::unique_ptr<gp::Message> Decode(const gp::Any& any) {
  std::string name = any.type_url().substr(any.type_url().rfind('/') + 1);
  const gp::Descriptor* desc = gp::DescriptorPool::generated_pool()->FindMessageTypeByName(name);
  if (desc == nullptr) return nullptr;
  const gp::Message* proto = gp::MessageFactory::generated_factory()->GetPrototype(desc);
  if (proto == nullptr) return nullptr;
  std::unique_ptr<gp::Message> msg(proto->New());
  if (!msg->ParseFromString(any.value())) return nullptr;
  return msg;
}

std::optional<std::string> Scalar(const gp::Message& msg, const gp::FieldDescriptor* f) {
  const gp::Reflection* r = msg.GetReflection();
  switch (f->cpp_type()) {
    case gp::FieldDescriptor::CPPTYPE_STRING: return r->GetString(msg, f);
    case gp::FieldDescriptor::CPPTYPE_INT32: return absl::StrCat(r->GetInt32(msg, f));
    case gp::FieldDescriptor::CPPTYPE_INT64: return absl::StrCat(r->GetInt64(msg, f));
    case gp::FieldDescriptor::CPPTYPE_UINT32: return absl::StrCat(r->GetUInt32(msg, f));
    case gp::FieldDescriptor::CPPTYPE_UINT64: return absl::StrCat(r->GetUInt64(msg, f));
    case gp::FieldDescriptor::CPPTYPE_BOOL: return r->GetBool(msg, f) ? "true" : "false";
    case gp::FieldDescriptor::CPPTYPE_ENUM: return r->GetEnum(msg, f)->name();
    default: return std::nullopt;
  }
}

// Walks proto field names like containerd's generated Field() adaptors: string-keyed maps
// take one more path element (labels.<key>).
std::optional<std::string> FieldOf(const gp::Message& msg, const std::vector<std::string>& path,
                                   size_t i) {
  if (i >= path.size()) return std::nullopt;
  const gp::FieldDescriptor* f = msg.GetDescriptor()->FindFieldByName(path[i]);
  if (f == nullptr) return std::nullopt;
  const gp::Reflection* r = msg.GetReflection();
  if (f->is_map()) {
    if (i + 1 >= path.size()) return std::nullopt;
    for (int k = 0; k < r->FieldSize(msg, f); ++k) {
      const gp::Message& entry = r->GetRepeatedMessage(msg, f, k);
      const gp::Descriptor* ed = entry.GetDescriptor();
      auto key = Scalar(entry, ed->FindFieldByNumber(1));
      if (key && *key == path[i + 1]) return Scalar(entry, ed->FindFieldByNumber(2));
    }
    return std::nullopt;
  }
  if (f->is_repeated()) return std::nullopt;
  if (f->cpp_type() == gp::FieldDescriptor::CPPTYPE_MESSAGE) {
    if (!r->HasField(msg, f)) return std::nullopt;
    return FieldOf(r->GetMessage(msg, f), path, i + 1);
  }
  if (i + 1 != path.size()) return std::nullopt;
  return Scalar(msg, f);
}

}  // namespace

filters::Adaptor EnvelopeAdaptor(const Envelope& envelope) {
  // The event is decoded at most once per adaptor, and only when a filter asks for it.
  auto decoded = std::make_shared<std::unique_ptr<gp::Message>>();
  auto tried = std::make_shared<bool>(false);
  return [&envelope, decoded, tried](const std::vector<std::string>& path)
             -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    if (path.size() == 1 && path[0] == "topic") return envelope.topic;
    if (path.size() == 1 && path[0] == "namespace") return envelope.ns;
    if (path[0] != "event" || path.size() < 2) return std::nullopt;
    if (!*tried) {
      *tried = true;
      *decoded = Decode(envelope.event);
    }
    if (*decoded == nullptr) return std::nullopt;
    return FieldOf(**decoded, path, 1);
  };
}

absl::Status ValidateTopic(const std::string& topic) {
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("event topic \"", topic, "\": ", why));
  };
  if (topic.empty()) return bad("must not be empty");
  if (topic[0] != '/') return bad("must start with '/'");
  if (topic.size() > 4096) return bad("too long");
  size_t start = 1;
  while (start <= topic.size()) {
    size_t end = topic.find('/', start);
    if (end == std::string::npos) end = topic.size();
    if (end == start) return bad("empty component");
    for (size_t i = start; i < end; ++i) {
      char c = topic[i];
      if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.')) {
        return bad("invalid character");
      }
    }
    start = end + 1;
  }
  return absl::OkStatus();
}

bool Subscription::Offer(const Envelope& envelope) {
  absl::MutexLock lock(&mu_);
  if (closed_ || dropped_) return false;
  if (queue_.size() >= capacity_) {
    dropped_ = true;  // falling behind: drop the subscriber, never grow without bound
    queue_.clear();
    return false;
  }
  queue_.push_back(envelope);
  return true;
}

absl::StatusOr<Envelope> Subscription::Next(absl::Duration timeout) {
  absl::MutexLock lock(&mu_);
  auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    return !queue_.empty() || closed_ || dropped_;
  };
  mu_.AwaitWithTimeout(absl::Condition(&ready), timeout);
  if (closed_) return absl::CancelledError("subscription closed");
  if (dropped_) {
    return absl::ResourceExhaustedError(
        absl::StrCat("event subscriber fell more than ", capacity_, " events behind: dropped"));
  }
  if (queue_.empty()) return absl::DeadlineExceededError("no event yet");
  Envelope e = std::move(queue_.front());
  queue_.pop_front();
  return e;
}

void Subscription::Close() {
  absl::MutexLock lock(&mu_);
  closed_ = true;
  queue_.clear();
}

absl::Status Exchange::Publish(const std::string& ns, const std::string& topic,
                               const google::protobuf::Message& event) {
  return PublishAny(ns, topic, PackEvent(event));
}

absl::Status Exchange::PublishAny(const std::string& ns, const std::string& topic,
                                  google::protobuf::Any event) {
  return Forward(Envelope{absl::Now(), ns, topic, std::move(event)});
}

absl::Status Exchange::Forward(Envelope envelope) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", envelope.ns));
  BERTH_RETURN_IF_ERROR(ValidateTopic(envelope.topic));
  if (envelope.event.type_url().empty()) {
    return absl::InvalidArgumentError(absl::StrCat("event for ", envelope.topic, ": missing"));
  }
  std::vector<Listener> listeners;
  {
    absl::MutexLock lock(&mu_);
    auto adaptor = EnvelopeAdaptor(envelope);
    std::vector<std::shared_ptr<Subscription>> alive;
    alive.reserve(subscribers_.size());
    for (auto& sub : subscribers_) {
      bool keep = true;
      if (sub->filter_->Match(adaptor)) keep = sub->Offer(envelope);
      else {
        absl::MutexLock sl(&sub->mu_);
        keep = !sub->closed_ && !sub->dropped_;
      }
      if (keep) alive.push_back(std::move(sub));
    }
    subscribers_ = std::move(alive);
    listeners = listeners_;
  }
  for (const auto& l : listeners) l(envelope);
  return absl::OkStatus();
}

absl::StatusOr<std::shared_ptr<Subscription>> Exchange::Subscribe(
    const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(auto filter, filters::ParseAny(filters));
  std::shared_ptr<Subscription> sub(new Subscription(std::move(filter), capacity_));
  absl::MutexLock lock(&mu_);
  subscribers_.push_back(sub);
  return sub;
}

void Exchange::AddListener(Listener listener) {
  absl::MutexLock lock(&mu_);
  listeners_.push_back(std::move(listener));
}

size_t Exchange::SubscriberCountForTest() {
  absl::MutexLock lock(&mu_);
  return subscribers_.size();
}

}  // namespace berth::events
