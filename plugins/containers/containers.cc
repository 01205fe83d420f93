#include "plugins/containers/containers.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "containerd/events/container.pb.h"
#include "core/filters.h"
#include "core/identifiers.h"
#include "core/log.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "plugins/metadata/namespaces.h"

namespace berth::containers {
namespace {

using nlohmann::json;

json AnyToJson(const google::protobuf::Any& any) {
  return json{{"type_url", any.type_url()}, {"value", absl::Base64Escape(any.value())}};
}

google::protobuf::Any AnyFromJson(const json& j) {
  google::protobuf::Any any;
  if (!j.is_object()) return any;
  any.set_type_url(j.value("type_url", ""));
  std::string raw;
  absl::Base64Unescape(j.value("value", ""), &raw);
  any.set_value(raw);
  return any;
}

std::string Encode(const Container& c) {
  json j;
  j["labels"] = c.labels;
  j["image"] = c.image;
  j["runtime"] = json{{"name", c.runtime_name}};
  if (!c.runtime_options.type_url().empty()) j["runtime"]["options"] = AnyToJson(c.runtime_options);
  if (!c.spec.type_url().empty()) j["spec"] = AnyToJson(c.spec);
  j["snapshotter"] = c.snapshotter;
  j["snapshot_key"] = c.snapshot_key;
  j["created_at"] = absl::ToUnixNanos(c.created_at);
  j["updated_at"] = absl::ToUnixNanos(c.updated_at);
  json ext = json::object();
  for (const auto& [k, v] : c.extensions) ext[k] = AnyToJson(v);
  j["extensions"] = ext;
  return j.dump();
}

absl::StatusOr<Container> Decode(absl::string_view id, absl::string_view value) {
  auto j = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat("container ", id, ": corrupt record"));
  }
  Container c;
  c.id = std::string(id);
  try {
    if (auto it = j.find("labels"); it != j.end() && it->is_object()) {
      for (const auto& [k, v] : it->items()) {
        if (v.is_string()) c.labels[k] = v.get<std::string>();
      }
    }
    c.image = j.value("image", "");
    if (auto it = j.find("runtime"); it != j.end() && it->is_object()) {
      c.runtime_name = it->value("name", "");
      if (it->contains("options")) c.runtime_options = AnyFromJson((*it)["options"]);
    }
    if (j.contains("spec")) c.spec = AnyFromJson(j["spec"]);
    c.snapshotter = j.value("snapshotter", "");
    c.snapshot_key = j.value("snapshot_key", "");
    c.created_at = absl::FromUnixNanos(j.value("created_at", int64_t{0}));
    c.updated_at = absl::FromUnixNanos(j.value("updated_at", int64_t{0}));
    if (auto it = j.find("extensions"); it != j.end() && it->is_object()) {
      for (const auto& [k, v] : it->items()) c.extensions[k] = AnyFromJson(v);
    }
  } catch (const json::exception& e) {
    return absl::DataLossError(absl::StrCat("container ", id, ": corrupt record: ", e.what()));
  }
  return c;
}

absl::StatusOr<Container> Load(const metadata::Reader& r, const std::string& ns,
                               const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(auto value, r.Get(metadata::ObjectKey(ns, kBucket, id)));
  if (!value) return absl::NotFoundError(absl::StrCat("container \"", id, "\": not found"));
  return Decode(id, *value);
}

filters::Adaptor AdaptorOf(const Container& c) {
  return [&c](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.empty()) return std::nullopt;
    const std::string& f = path[0];
    if (path.size() == 1) {
      if (f == "id") return c.id;
      if (f == "image") return c.image;
      if (f == "snapshotter") return c.snapshotter;
      if (f == "snapshotkey" || f == "snapshot_key") return c.snapshot_key;
    }
    if (f == "runtime" && path.size() == 2 && path[1] == "name") return c.runtime_name;
    if (f == "labels" && path.size() >= 2) {
      if (auto it = c.labels.find(path[1]); it != c.labels.end()) return it->second;
    }
    return std::nullopt;
  };
}

void ApplyMapPath(std::map<std::string, std::string>& dst,
                  const std::map<std::string, std::string>& src, const std::string& key) {
  auto it = src.find(key);
  if (it == src.end() || it->second.empty()) dst.erase(key);
  else dst[key] = it->second;
}

}  // namespace

absl::Status Validate(const Container& c) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("container id", c.id));
  BERTH_RETURN_IF_ERROR(ValidateLabels(c.labels));
  auto bad = [&](absl::string_view why) {
    return absl::InvalidArgumentError(absl::StrCat("container \"", c.id, "\": ", why));
  };
  for (const auto& [k, v] : c.extensions) {
    if (k.empty()) return bad("extension name must not be empty");
    if (v.type_url().empty()) return bad(absl::StrCat("extension \"", k, "\": value cannot be empty"));
  }
  if (c.runtime_name.empty()) return bad("must set runtime name");
  if (c.spec.type_url().empty() && c.spec.value().empty()) return bad("spec should not be empty");
  if (!c.snapshot_key.empty() && c.snapshotter.empty()) {
    return bad("snapshotter must be set when a snapshot key is set");
  }
  return absl::OkStatus();
}

absl::StatusOr<Container> ContainerStore::Get(const std::string& ns, const std::string& id) {
  absl::StatusOr<Container> out;
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    out = Load(r, ns, id);
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<std::vector<Container>> ContainerStore::List(const std::string& ns,
                                                            const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(auto filter, filters::ParseAny(filters));
  std::vector<Container> out;
  absl::Status decode_error;
  const std::string prefix = metadata::BucketPrefix(ns, kBucket);
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    return r.Scan(prefix, [&](absl::string_view key, absl::string_view value) {
      auto c = Decode(key.substr(prefix.size()), value);
      if (!c.ok()) {
        decode_error = c.status();
        return false;
      }
      if (filter->Match(AdaptorOf(*c))) out.push_back(*std::move(c));
      return true;
    });
  }));
  BERTH_RETURN_IF_ERROR(decode_error);
  return out;
}

absl::StatusOr<Container> ContainerStore::Create(const std::string& ns, Container c) {
  BERTH_RETURN_IF_ERROR(Validate(c));
  c.created_at = c.updated_at = absl::Now();
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(metadata::EnsureNamespace(txn, ns));
    const std::string key = metadata::ObjectKey(ns, kBucket, c.id);
    BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(key));
    if (existing) {
      return absl::AlreadyExistsError(absl::StrCat("container \"", c.id, "\": already exists"));
    }
    txn.Put(key, Encode(c));
    return absl::OkStatus();
  }));
  ::containerd::events::ContainerCreate ev;
  ev.set_id(c.id);
  ev.set_image(c.image);
  ev.mutable_runtime()->set_name(c.runtime_name);
  if (!c.runtime_options.type_url().empty()) {
    *ev.mutable_runtime()->mutable_options() = c.runtime_options;
  }
  Publish(ns, "/containers/create", ev);
  return c;
}

absl::StatusOr<Container> ContainerStore::Update(const std::string& ns, const Container& c,
                                                 const std::vector<std::string>& paths) {
  if (c.id.empty()) return absl::InvalidArgumentError("container id must not be empty");
  Container updated;
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(updated, Load(txn, ns, c.id));
    std::vector<std::string> fields = paths;
    if (fields.empty()) {
      // A full replace may not change what the container's task and snapshot hang on.
      if (c.snapshotter != updated.snapshotter) {
        return absl::InvalidArgumentError(
            absl::StrCat("container \"", c.id, "\": snapshotter field is immutable"));
      }
      if (c.runtime_name != updated.runtime_name) {
        return absl::InvalidArgumentError(
            absl::StrCat("container \"", c.id, "\": runtime.name field is immutable"));
      }
      fields = {"labels", "spec", "extensions", "image", "snapshotkey"};
    }
    for (const auto& path : fields) {
      if (absl::StartsWith(path, "labels.")) {
        ApplyMapPath(updated.labels, c.labels, path.substr(7));
      } else if (absl::StartsWith(path, "extensions.")) {
        std::string key = path.substr(11);
        auto it = c.extensions.find(key);
        if (it == c.extensions.end()) updated.extensions.erase(key);
        else updated.extensions[key] = it->second;
      } else if (path == "labels") {
        updated.labels = c.labels;
      } else if (path == "spec") {
        updated.spec = c.spec;
      } else if (path == "extensions") {
        updated.extensions = c.extensions;
      } else if (path == "image") {
        updated.image = c.image;
      } else if (path == "snapshotkey" || path == "snapshot_key") {
        updated.snapshot_key = c.snapshot_key;
      } else if (path == "runtime") {
        updated.runtime_name = c.runtime_name;
        updated.runtime_options = c.runtime_options;
      } else {
        return absl::InvalidArgumentError(
            absl::StrCat("cannot update \"", path, "\" field on container \"", c.id, "\""));
      }
    }
    BERTH_RETURN_IF_ERROR(Validate(updated));
    updated.updated_at = absl::Now();
    txn.Put(metadata::ObjectKey(ns, kBucket, c.id), Encode(updated));
    return absl::OkStatus();
  }));
  ::containerd::events::ContainerUpdate ev;
  ev.set_id(updated.id);
  ev.set_image(updated.image);
  ev.mutable_labels()->insert(updated.labels.begin(), updated.labels.end());
  ev.set_snapshot_key(updated.snapshot_key);
  Publish(ns, "/containers/update", ev);
  return updated;
}

absl::Status ContainerStore::Delete(const std::string& ns, const std::string& id) {
  BERTH_RETURN_IF_ERROR(db_->Update([&](metadata::Txn& txn) -> absl::Status {
    const std::string key = metadata::ObjectKey(ns, kBucket, id);
    BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(key));
    if (!existing) return absl::NotFoundError(absl::StrCat("container \"", id, "\": not found"));
    txn.Delete(key);
    return absl::OkStatus();
  }));
  ::containerd::events::ContainerDelete ev;
  ev.set_id(id);
  Publish(ns, "/containers/delete", ev);
  return absl::OkStatus();
}

void ContainerStore::Publish(const std::string& ns, const std::string& topic,
                             const google::protobuf::Message& event) {
  if (events_ == nullptr) return;
  // The change is committed: a failed event must not turn it into an error.
  if (absl::Status st = events_->Publish(ns, topic, event); !st.ok()) {
    log::Get("containers")->warn("publish {}: {}", topic, st.ToString());
  }
}

}  // namespace berth::containers
