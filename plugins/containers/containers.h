// Containers: the domain core behind containerd.services.containers.v1 (metadata records only;
// a container's task lives in the runtime).
//
// Record: key ObjectKey(ns, "containers", id) -> JSON
//   {"labels":{..}, "image":"..", "runtime":{"name":"..","options":ANY}, "spec":ANY,
//    "snapshotter":"overlayfs", "snapshot_key":"<key>", "created_at":NANOS, "updated_at":NANOS,
//    "extensions":{"name":ANY}}         with ANY = {"type_url":"..","value":"<base64>"}
// For garbage collection a container is a root, and it holds the snapshot named by its
// `snapshotter` + `snapshot_key` fields (containerd's gc reference from a container to its
// snapshot), plus whatever its containerd.io/gc.ref.* labels name.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/any.pb.h"
#include "plugins/events/publisher.h"
#include "plugins/metadata/db.h"

namespace berth::containers {

inline constexpr char kBucket[] = "containers";

struct Container {
  std::string id;
  std::map<std::string, std::string> labels;
  std::string image;
  std::string runtime_name;
  google::protobuf::Any runtime_options;  // type_url empty = none
  google::protobuf::Any spec;             // type_url empty = none
  std::string snapshotter;
  std::string snapshot_key;
  absl::Time created_at = absl::UnixEpoch();
  absl::Time updated_at = absl::UnixEpoch();
  std::map<std::string, google::protobuf::Any> extensions;
};

// containerd's validation: identifier id, valid labels, runtime name and spec required,
// snapshotter required when a snapshot key is set, extensions non-empty. InvalidArgument.
absl::Status Validate(const Container& c);

class ContainerStore {
 public:
  // `publisher` may be null (no events).
  ContainerStore(metadata::Db* db, events::Publisher* publisher) : db_(db), events_(publisher) {}

  // NotFound.
  absl::StatusOr<Container> Get(const std::string& ns, const std::string& id);
  // Containers matching any of `filters` (containerd syntax on id, image, runtime.name,
  // labels.<k>, snapshotter, snapshotkey); InvalidArgument for a bad filter.
  absl::StatusOr<std::vector<Container>> List(const std::string& ns,
                                              const std::vector<std::string>& filters);
  // Sets created_at = updated_at = now; creates the namespace implicitly.
  // InvalidArgument (validation), AlreadyExists. Publishes /containers/create.
  absl::StatusOr<Container> Create(const std::string& ns, Container c);
  // Field masks as containerd: "labels", "labels.<k>", "spec", "image", "snapshotkey",
  // "runtime", "extensions", "extensions.<k>"; none = replace labels, spec, extensions, image
  // and snapshotkey, with snapshotter and runtime name immutable. Empty label values remove the
  // label. NotFound; InvalidArgument for other paths or an invalid result.
  // Publishes /containers/update.
  absl::StatusOr<Container> Update(const std::string& ns, const Container& c,
                                   const std::vector<std::string>& paths);
  // NotFound. Publishes /containers/delete.
  absl::Status Delete(const std::string& ns, const std::string& id);

 private:
  void Publish(const std::string& ns, const std::string& topic,
               const google::protobuf::Message& event);

  metadata::Db* db_;
  events::Publisher* events_;
};

}  // namespace berth::containers
