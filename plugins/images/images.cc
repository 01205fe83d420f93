#include "plugins/images/images.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/filters.h"
#include "core/identifiers.h"
#include "core/labels.h"
#include "containerd/events/image.pb.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "plugins/metadata/namespaces.h"

namespace berth::images {
namespace {

constexpr char kBucket[] = "images";

std::string Encode(const Image& i) {
  return nlohmann::json{{"target",
                         {{"mediaType", i.target.media_type},
                          {"digest", i.target.digest},
                          {"size", i.target.size},
                          {"annotations", i.target.annotations}}},
                        {"labels", i.labels},
                        {"created", absl::ToUnixNanos(i.created_at)},
                        {"updated", absl::ToUnixNanos(i.updated_at)}}
      .dump();
}

absl::StatusOr<Image> Decode(absl::string_view name, absl::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("target")) {
    return absl::DataLossError(absl::StrCat("image ", name, ": corrupt record"));
  }
  Image i;
  i.name = std::string(name);
  const auto& t = j["target"];
  i.target.media_type = t.value("mediaType", "");
  i.target.digest = t.value("digest", "");
  i.target.size = t.value("size", int64_t{0});
  if (t.contains("annotations")) i.target.annotations = t["annotations"].get<std::map<std::string, std::string>>();
  if (j.contains("labels")) i.labels = j["labels"].get<std::map<std::string, std::string>>();
  i.created_at = absl::FromUnixNanos(j.value("created", int64_t{0}));
  i.updated_at = absl::FromUnixNanos(j.value("updated", int64_t{0}));
  return i;
}

absl::Status Validate(const Image& i) {
  if (i.name.empty()) return absl::InvalidArgumentError("image name must not be empty");
  BERTH_RETURN_IF_ERROR(ValidateLabels(i.labels));
  if (i.target.media_type.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("image ", i.name, ": target media type must not be empty"));
  }
  if (!absl::StartsWith(i.target.digest, "sha256:") || i.target.digest.size() != 71) {
    return absl::InvalidArgumentError(
        absl::StrCat("image ", i.name, ": invalid target digest \"", i.target.digest, "\""));
  }
  return absl::OkStatus();
}

absl::StatusOr<Image> Load(const metadata::Reader& r, const std::string& ns, const std::string& name) {
  BERTH_ASSIGN_OR_RETURN(auto v, r.Get(metadata::ObjectKey(ns, kBucket, name)));
  if (!v) return absl::NotFoundError(absl::StrCat("image \"", name, "\": not found"));
  return Decode(name, *v);
}

}  // namespace

void ImageStore::Publish(const std::string& ns, const char* topic, const Image& image) {
  if (publisher_ == nullptr) return;
  namespace ev = ::containerd::services::images::v1;
  absl::Status s;
  if (std::string(topic) == "/images/delete") {
    ev::ImageDelete e;
    e.set_name(image.name);
    s = publisher_->Publish(ns, topic, e);
  } else if (std::string(topic) == "/images/create") {
    ev::ImageCreate e;
    e.set_name(image.name);
    e.mutable_labels()->insert(image.labels.begin(), image.labels.end());
    s = publisher_->Publish(ns, topic, e);
  } else {
    ev::ImageUpdate e;
    e.set_name(image.name);
    e.mutable_labels()->insert(image.labels.begin(), image.labels.end());
    s = publisher_->Publish(ns, topic, e);
  }
  // The change is committed; a lost event is worth a warning, not a failed call.
  if (!s.ok()) log::Get("images")->warn("publish {} ns={} image={}: {}", topic, ns, image.name, s.ToString());
}

absl::StatusOr<Image> ImageStore::Get(const std::string& ns, const std::string& name) {
  absl::StatusOr<Image> out;
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    out = Load(r, ns, name);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Image>> ImageStore::List(const std::string& ns,
                                                    const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(auto filter, filters::ParseAny(filters));
  std::vector<Image> out;
  absl::Status err;
  std::string prefix = metadata::BucketPrefix(ns, kBucket);
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    return r.Scan(prefix, [&](absl::string_view key, absl::string_view value) {
      auto img = Decode(key.substr(prefix.size()), value);
      if (!img.ok()) {
        err = img.status();
        return false;
      }
      const Image& i = *img;
      bool match = filter->Match([&i](const std::vector<std::string>& p) -> std::optional<std::string> {
        if (p.size() == 1 && p[0] == "name") return i.name;
        if (p.size() == 2 && p[0] == "target" && p[1] == "digest") return i.target.digest;
        if (p.size() == 2 && p[0] == "target" && p[1] == "mediatype") return i.target.media_type;
        return LabelForFilterPath(i.labels, p);
      });
      if (match) out.push_back(*std::move(img));
      return true;
    });
  }));
  BERTH_RETURN_IF_ERROR(err);
  return out;
}

absl::StatusOr<Image> ImageStore::Create(const std::string& ns, const Image& image) {
  BERTH_RETURN_IF_ERROR(Validate(image));
  Image created = image;
  created.created_at = created.updated_at = absl::Now();
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(metadata::EnsureNamespace(txn, ns));
    std::string key = metadata::ObjectKey(ns, kBucket, image.name);
    BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(key));
    if (existing) {
      return absl::AlreadyExistsError(absl::StrCat("image \"", image.name, "\": already exists"));
    }
    txn.Put(key, Encode(created));
    return absl::OkStatus();
  }));
  Publish(ns, "/images/create", created);
  return created;
}

absl::StatusOr<Image> ImageStore::Update(const std::string& ns, const Image& image,
                                         const std::vector<std::string>& paths) {
  Image updated;
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(updated, Load(txn, ns, image.name));
    if (paths.empty()) {
      updated.labels = image.labels;
      updated.target = image.target;
    }
    for (const auto& p : paths) {
      if (p == "target") {
        updated.target = image.target;
      } else if (!ApplyMapPath(p, "labels", image.labels, &updated.labels) &&
                 !ApplyMapPath(p, "annotations", image.target.annotations,
                               &updated.target.annotations)) {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot update \"", p, "\" of image ", image.name));
      }
    }
    BERTH_RETURN_IF_ERROR(Validate(updated));
    updated.updated_at = absl::Now();
    txn.Put(metadata::ObjectKey(ns, kBucket, image.name), Encode(updated));
    return absl::OkStatus();
  }));
  Publish(ns, "/images/update", updated);
  return updated;
}

absl::Status ImageStore::Delete(const std::string& ns, const std::string& name) {
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(Load(txn, ns, name).status());
    txn.Delete(metadata::ObjectKey(ns, kBucket, name));
    return absl::OkStatus();
  }));
  Publish(ns, "/images/delete", Image{name, {}, {}, {}, {}});
  return absl::OkStatus();
}

}  // namespace berth::images
