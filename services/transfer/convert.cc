#include "services/transfer/convert.h"

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace berth::services::transfer_convert {

namespace pb = ::berth::services::transfer::v1;

absl::StatusOr<::berth::transfer::PullOptions> FromProto(const pb::PullRequest& req) {
  if (req.reference().empty()) return absl::InvalidArgumentError("pull: reference is required");
  ::berth::transfer::PullOptions o;
  o.reference = req.reference();
  for (const auto& p : req.platforms()) {
    if (p.os().empty() || p.architecture().empty()) {
      return absl::InvalidArgumentError("pull: a platform needs os and architecture");
    }
    o.platforms.push_back(::berth::transfer::Normalize({p.os(), p.architecture(), p.variant(), ""}));
  }
  o.unpack = req.unpack();
  o.snapshotter = req.snapshotter();
  o.credentials = {req.auth().username(), req.auth().password(), req.auth().identity_token(),
                   req.auth().registry_token()};
  o.plain_http = req.plain_http();
  o.skip_verify = req.skip_verify();
  o.hosts_dir = req.hosts_dir();
  o.labels = {req.labels().begin(), req.labels().end()};
  o.max_concurrent_downloads = static_cast<int>(std::min<uint32_t>(req.max_concurrent_downloads(), 64));
  return o;
}

absl::StatusOr<::berth::transfer::ImportOptions> FromProto(const pb::ImportRequest& req) {
  if (req.path().empty()) return absl::InvalidArgumentError("import: path is required");
  return ::berth::transfer::ImportOptions{req.path(), req.base_name(), req.unpack(),
                                          req.snapshotter(),
                                          {req.labels().begin(), req.labels().end()}};
}

absl::StatusOr<::berth::transfer::ExportOptions> FromProto(const pb::ExportRequest& req) {
  if (req.path().empty() || req.images().empty()) {
    return absl::InvalidArgumentError("export: path and images are required");
  }
  ::berth::transfer::ExportOptions o{req.path(), {req.images().begin(), req.images().end()}, {}};
  for (const auto& p : req.platforms()) {
    o.platforms.push_back(::berth::transfer::Normalize({p.os(), p.architecture(), p.variant(), ""}));
  }
  return o;
}

absl::StatusOr<::berth::transfer::PushOptions> FromProto(const pb::PushRequest& req) {
  if (req.image().empty()) return absl::InvalidArgumentError("push: image is required");
  ::berth::transfer::PushOptions o;
  o.image = req.image();
  o.remote = req.remote();
  for (const auto& p : req.platforms()) {
    if (p.os().empty() || p.architecture().empty()) {
      return absl::InvalidArgumentError("push: a platform needs os and architecture");
    }
    o.platforms.push_back(::berth::transfer::Normalize({p.os(), p.architecture(), p.variant(), ""}));
  }
  o.credentials = {req.auth().username(), req.auth().password(), req.auth().identity_token(),
                   req.auth().registry_token()};
  o.plain_http = req.plain_http();
  o.skip_verify = req.skip_verify();
  o.hosts_dir = req.hosts_dir();
  o.max_concurrent_uploads = static_cast<int>(std::min<uint32_t>(req.max_concurrent_uploads(), 64));
  return o;
}

namespace {
void SetNow(pb::Progress* out) {
  int64_t ns = absl::ToUnixNanos(absl::Now());
  out->mutable_time()->set_seconds(ns / 1000000000);
  out->mutable_time()->set_nanos(static_cast<int32_t>(ns % 1000000000));
}
}  // namespace

void ToProto(const std::vector<::berth::transfer::ProgressItem>& items, pb::Progress* out) {
  SetNow(out);
  for (const auto& it : items) {
    auto* p = out->add_items();
    p->set_ref(it.ref);
    p->set_digest(it.digest);
    p->set_media_type(it.media_type);
    p->set_state(it.state);
    p->set_offset(it.offset);
    p->set_total(it.total);
    p->set_error(it.error);
  }
}

void ToProto(const std::vector<::berth::transfer::PullResult>& results, pb::Progress* out) {
  SetNow(out);
  out->set_done(true);
  for (const auto& result : results) {
    auto* img = out->add_images();
    img->set_name(result.name);
    img->mutable_target()->set_media_type(result.target.media_type);
    img->mutable_target()->set_digest(result.target.digest);
    img->mutable_target()->set_size(result.target.size);
  }
}

}  // namespace berth::services::transfer_convert
