// Leases: the domain core behind containerd.services.leases.v1 (containerd metadata/leases.go).
//
// A lease protects the resources attached to it from garbage collection until it is deleted
// or, with the `containerd.io/gc.expire` label (RFC 3339), until it expires. Resources are
// typed as containerd types them: "content" (a digest), "ingests" (a ref), and
// "snapshots/<snapshotter>" (a key).
//
// Records: ns/<ns>/leases/<id> (JSON: created, labels) and one key per resource
// ns/<ns>/leaseres/<id>\x00<type>\x00<resource id> (lease ids are free-form, as in containerd).
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "plugins/metadata/db.h"

namespace berth::leases {

inline constexpr char kExpireLabel[] = "containerd.io/gc.expire";
inline constexpr char kFlatLabel[] = "containerd.io/gc.flat";

struct Lease {
  std::string id;
  absl::Time created_at;
  std::map<std::string, std::string> labels;
};

struct Resource {
  std::string id;
  std::string type;
  friend bool operator==(const Resource& a, const Resource& b) {
    return a.id == b.id && a.type == b.type;
  }
};

// Attaches a resource to `lease` inside a write transaction (a no-op when lease is "").
// NotFound when the lease does not exist in `ns`.
absl::Status AttachInTxn(metadata::Txn& txn, const std::string& ns, const std::string& lease,
                         const Resource& resource);

// Every lease of every namespace with its resources, for the garbage collector.
struct LeaseWithResources {
  std::string ns;
  Lease lease;
  std::vector<Resource> resources;
};
absl::StatusOr<std::vector<LeaseWithResources>> AllLeases(const metadata::Reader& r);

// True when the lease has a valid gc.expire label in the past.
bool Expired(const Lease& lease, absl::Time now);

class LeaseStore {
 public:
  explicit LeaseStore(metadata::Db* db) : db_(db) {}

  // InvalidArgument for bad labels or an id with NUL; AlreadyExists. An empty id gets a
  // generated one.
  absl::StatusOr<Lease> Create(const std::string& ns, const std::string& id,
                               const std::map<std::string, std::string>& labels);
  // NotFound. Resources are released (collected at the next GC).
  absl::Status Delete(const std::string& ns, const std::string& id);
  // Leases of `ns` matching `filters` (containerd's language: id, labels.<k>).
  absl::StatusOr<std::vector<Lease>> List(const std::string& ns,
                                          const std::vector<std::string>& filters);
  // NotFound for a missing lease; InvalidArgument for an empty id or unknown type.
  absl::Status AddResource(const std::string& ns, const std::string& id, const Resource& r);
  absl::Status DeleteResource(const std::string& ns, const std::string& id, const Resource& r);
  absl::StatusOr<std::vector<Resource>> ListResources(const std::string& ns,
                                                      const std::string& id);

 private:
  metadata::Db* db_;
};

}  // namespace berth::leases
