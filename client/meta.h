// Small services of the containerd API v1: version, introspection, namespaces, leases,
// snapshots and diff. Every call returns the API's own messages (containerd's wire types), so
// an embedder sees exactly what `ctr` sees. Every method takes CallOptions (namespace, deadline,
// lease); errors keep the daemon's gRPC code (NotFound, AlreadyExists, FailedPrecondition,
// InvalidArgument...) and Unavailable when berthd cannot be reached.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/connection.h"
#include "containerd/services/diff/v1/diff.grpc.pb.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "containerd/services/leases/v1/leases.grpc.pb.h"
#include "containerd/services/namespaces/v1/namespace.grpc.pb.h"
#include "containerd/services/snapshots/v1/snapshots.grpc.pb.h"
#include "containerd/services/version/v1/version.grpc.pb.h"

namespace berth::client {

namespace nspb = ::containerd::services::namespaces::v1;
namespace lpb = ::containerd::services::leases::v1;
namespace ipb = ::containerd::services::introspection::v1;
namespace spb = ::containerd::services::snapshots::v1;
namespace dpb = ::containerd::services::diff::v1;
namespace vpb = ::containerd::services::version::v1;
namespace tpb_types = ::containerd::types;

using Labels = std::map<std::string, std::string>;

class Meta {
 public:
  explicit Meta(std::shared_ptr<Connection> conn);

  // Version.Version: the daemon's version and git revision.
  absl::StatusOr<vpb::VersionResponse> Version(const CallOptions& call = {});
  // Introspection.Server: the daemon's UUID (stable for its root).
  absl::StatusOr<std::string> ServerUuid(const CallOptions& call = {});
  // Introspection.Plugins with containerd filters ("type==io.containerd.snapshotter.v1").
  absl::StatusOr<std::vector<ipb::Plugin>> Plugins(const std::vector<std::string>& filters = {},
                                                   const CallOptions& call = {});

  // Namespaces. Create: AlreadyExists when it exists. Remove: NotFound; FailedPrecondition
  // while the namespace still holds objects.
  absl::StatusOr<std::vector<nspb::Namespace>> ListNamespaces(const CallOptions& call = {});
  absl::Status CreateNamespace(const std::string& name, const Labels& labels = {},
                               const CallOptions& call = {});
  absl::Status RemoveNamespace(const std::string& name, const CallOptions& call = {});

  // Leases (in the call's namespace). Create with an empty id lets the daemon pick one.
  absl::StatusOr<std::vector<lpb::Lease>> ListLeases(const std::vector<std::string>& filters = {},
                                                     const CallOptions& call = {});
  absl::StatusOr<lpb::Lease> CreateLease(const std::string& id, const Labels& labels,
                                         const CallOptions& call = {});
  absl::Status DeleteLease(const std::string& id, bool sync, const CallOptions& call = {});
  // A lease named "<purpose>-<pid>-<ns>" that holds what is created under it until it is
  // deleted, and expires on its own after `ttl` (containerd.io/gc.expire) should the caller
  // die first: objects written before anything references them (blobs before their image,
  // a snapshot before its container) are then safe from a collection that runs meanwhile.
  absl::StatusOr<lpb::Lease> CreateTemporaryLease(const std::string& purpose, absl::Duration ttl,
                                                  const CallOptions& call = {});

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<vpb::Version::Stub> version_;
  std::unique_ptr<ipb::Introspection::Stub> introspection_;
  std::unique_ptr<nspb::Namespaces::Stub> namespaces_;
  std::unique_ptr<lpb::Leases::Stub> leases_;
};

// Snapshots of one snapshotter ("overlayfs", "native"), plus the diff service that applies
// layers onto them.
class Snapshots {
 public:
  explicit Snapshots(std::shared_ptr<Connection> conn);

  // Stream-collected list. Errors: NotFound for an unknown snapshotter.
  absl::StatusOr<std::vector<spb::Info>> List(const std::string& snapshotter,
                                              const std::vector<std::string>& filters = {},
                                              const CallOptions& call = {});
  // NotFound when `key` does not exist.
  absl::StatusOr<spb::Info> Stat(const std::string& snapshotter, const std::string& key,
                                 const CallOptions& call = {});
  // An active snapshot on `parent` ("" = empty); returns its mounts. AlreadyExists for a used
  // key, NotFound for a missing parent.
  absl::StatusOr<std::vector<tpb_types::Mount>> Prepare(const std::string& snapshotter,
                                                        const std::string& key,
                                                        const std::string& parent,
                                                        const Labels& labels = {},
                                                        const CallOptions& call = {});
  absl::StatusOr<std::vector<tpb_types::Mount>> Mounts(const std::string& snapshotter,
                                                       const std::string& key,
                                                       const CallOptions& call = {});
  // Commits active `key` as `name`. AlreadyExists when `name` exists.
  absl::Status Commit(const std::string& snapshotter, const std::string& name,
                      const std::string& key, const Labels& labels = {},
                      const CallOptions& call = {});
  // NotFound when missing; FailedPrecondition when it has children.
  absl::Status Remove(const std::string& snapshotter, const std::string& key,
                      const CallOptions& call = {});
  // Diff.Apply: unpacks the layer blob `layer` (from the content store) onto `mounts`.
  absl::StatusOr<tpb_types::Descriptor> Apply(const tpb_types::Descriptor& layer,
                                              const std::vector<tpb_types::Mount>& mounts,
                                              const CallOptions& call = {});

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<spb::Snapshots::Stub> stub_;
  std::unique_ptr<dpb::Diff::Stub> diff_;
};

}  // namespace berth::client
