#include "plugins/leases/leases.h"

#include <atomic>

#include "absl/strings/match.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "core/filters.h"
#include "core/identifiers.h"
#include "core/labels.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "plugins/metadata/namespaces.h"

namespace berth::leases {
namespace {

constexpr char kBucket[] = "leases";
constexpr char kResBucket[] = "leaseres";

// A lease's own record - its creation and deletion - is committed without a sync of its own: it
// becomes durable with the next synced commit, which is what anything the lease protects is
// written with (a snapshot or blob under the lease, the container that takes the snapshot
// over). A power cut before that loses only lease records nothing durable depends on: a new lease
// that protected nothing yet, or a deleted one that comes back and expires or is deleted again.
// Resources attached to a lease keep synced commits.
constexpr metadata::Durability kLeaseDurability = metadata::Durability::kNextSync;

// Lease ids are free-form (ctr uses a mount path as one), so a NUL ends the id in keys.
std::string ResPrefix(const std::string& ns, const std::string& id) {
  return metadata::ObjectKey(ns, kResBucket, id + std::string(1, '\0'));
}
std::string ResKey(const std::string& ns, const std::string& id, const Resource& r) {
  return absl::StrCat(ResPrefix(ns, id), r.type, std::string(1, '\0'), r.id);
}

std::string Encode(const Lease& l) {
  return nlohmann::json{{"created", absl::ToUnixNanos(l.created_at)}, {"labels", l.labels}}.dump();
}

absl::StatusOr<Lease> Decode(absl::string_view id, absl::string_view value) {
  auto j = nlohmann::json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::DataLossError(absl::StrCat("lease ", id, ": corrupt record"));
  }
  Lease l{std::string(id), absl::FromUnixNanos(j.value("created", int64_t{0})), {}};
  if (auto it = j.find("labels"); it != j.end() && it->is_object()) {
    l.labels = it->get<std::map<std::string, std::string>>();
  }
  return l;
}

// containerd only requires a non-empty lease id; a NUL would break our key layout.
absl::Status ValidateLeaseId(const std::string& id) {
  if (id.empty()) return absl::InvalidArgumentError("lease id must not be empty");
  if (id.find('\0') != std::string::npos || id.size() > 1024) {
    return absl::InvalidArgumentError("lease id must be at most 1024 bytes without NUL");
  }
  return absl::OkStatus();
}

absl::Status ValidateResource(const Resource& r) {
  if (r.id.empty()) return absl::InvalidArgumentError("lease resource id must not be empty");
  if (r.type == "content" || r.type == "ingests" || absl::StartsWith(r.type, "snapshots/")) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(absl::StrCat("unsupported lease resource type \"", r.type,
                                                 "\" (want content, ingests or snapshots/<name>)"));
}

absl::Status RequireLease(const metadata::Reader& r, const std::string& ns, const std::string& id) {
  BERTH_ASSIGN_OR_RETURN(auto v, r.Get(metadata::ObjectKey(ns, kBucket, id)));
  if (!v) return absl::NotFoundError(absl::StrCat("lease ", id, ": not found"));
  return absl::OkStatus();
}

absl::StatusOr<std::vector<Resource>> Resources(const metadata::Reader& r, const std::string& ns,
                                                const std::string& id) {
  std::vector<Resource> out;
  std::string prefix = ResPrefix(ns, id);
  BERTH_RETURN_IF_ERROR(r.Scan(prefix, [&](absl::string_view key, absl::string_view) {
    absl::string_view rest = key.substr(prefix.size());
    size_t nul = rest.find('\0');
    if (nul != absl::string_view::npos) {
      out.push_back(Resource{std::string(rest.substr(nul + 1)), std::string(rest.substr(0, nul))});
    }
    return true;
  }));
  return out;
}

std::string RandomId() {
  static std::atomic<uint32_t> counter{static_cast<uint32_t>(absl::ToUnixNanos(absl::Now()))};
  uint32_t salt = counter.fetch_add(0x9e3779b9u) & 0xffffff;
  return absl::StrCat(absl::ToUnixNanos(absl::Now()) % 1000000000, "-",
                      absl::Hex(salt, absl::kZeroPad6));
}

}  // namespace

bool Expired(const Lease& lease, absl::Time now) {
  auto it = lease.labels.find(kExpireLabel);
  if (it == lease.labels.end()) return false;
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full, it->second, &t, &err)) return false;
  return t < now;
}

absl::Status AttachInTxn(metadata::Txn& txn, const std::string& ns, const std::string& lease,
                         const Resource& resource) {
  if (lease.empty()) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(RequireLease(txn, ns, lease));
  txn.Put(ResKey(ns, lease, resource), "");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<LeaseWithResources>> AllLeases(const metadata::Reader& r) {
  std::vector<LeaseWithResources> out;
  absl::Status err;
  // Keys: ns/<ns>/leases/<id>; namespaces contain no '/'.
  BERTH_RETURN_IF_ERROR(r.Scan("ns/", [&](absl::string_view key, absl::string_view value) {
    absl::string_view rest = key.substr(3);
    size_t slash = rest.find('/');
    if (slash == absl::string_view::npos) return true;
    std::string ns(rest.substr(0, slash));
    absl::string_view tail = rest.substr(slash + 1);
    if (!absl::ConsumePrefix(&tail, "leases/")) return true;
    auto lease = Decode(tail, value);
    if (!lease.ok()) {
      err = lease.status();
      return false;
    }
    out.push_back({ns, *std::move(lease), {}});
    return true;
  }));
  BERTH_RETURN_IF_ERROR(err);
  for (auto& l : out) {
    BERTH_ASSIGN_OR_RETURN(l.resources, Resources(r, l.ns, l.lease.id));
  }
  return out;
}

absl::StatusOr<Lease> LeaseStore::Create(const std::string& ns, const std::string& requested_id,
                                         const std::map<std::string, std::string>& labels) {
  // No id: generate one, as containerd's leases service does (WithRandomID).
  std::string id = requested_id.empty() ? RandomId() : requested_id;
  BERTH_RETURN_IF_ERROR(ValidateLeaseId(id));
  BERTH_RETURN_IF_ERROR(ValidateLabels(labels));
  Lease lease{id, absl::Now(), labels};
  // Not synced (kLeaseDurability): ctr makes and drops a lease around every `ctr run`.
  BERTH_RETURN_IF_ERROR(db_->Update(
      [&](metadata::Txn& txn) -> absl::Status {
        BERTH_RETURN_IF_ERROR(metadata::EnsureNamespace(txn, ns));
        std::string key = metadata::ObjectKey(ns, kBucket, id);
        BERTH_ASSIGN_OR_RETURN(auto existing, txn.Get(key));
        if (existing) {
          return absl::AlreadyExistsError(absl::StrCat("lease ", id, ": already exists"));
        }
        txn.Put(key, Encode(lease));
        return absl::OkStatus();
      },
      kLeaseDurability));
  return lease;
}

absl::Status LeaseStore::Delete(const std::string& ns, const std::string& id) {
  return db_->Update(
      [&](metadata::Txn& txn) -> absl::Status {
        BERTH_RETURN_IF_ERROR(RequireLease(txn, ns, id));
        txn.Delete(metadata::ObjectKey(ns, kBucket, id));
        return txn.DeletePrefix(ResPrefix(ns, id));
      },
      kLeaseDurability);
}

absl::StatusOr<std::vector<Lease>> LeaseStore::List(const std::string& ns,
                                                    const std::vector<std::string>& filters) {
  BERTH_ASSIGN_OR_RETURN(auto filter, filters::ParseAny(filters));
  std::vector<Lease> out;
  absl::Status err;
  std::string prefix = metadata::BucketPrefix(ns, kBucket);
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) {
    return r.Scan(prefix, [&](absl::string_view key, absl::string_view value) {
      auto lease = Decode(key.substr(prefix.size()), value);
      if (!lease.ok()) {
        err = lease.status();
        return false;
      }
      const Lease& l = *lease;
      bool match = filter->Match([&l](const std::vector<std::string>& path) -> std::optional<std::string> {
        if (path.size() == 1 && path[0] == "id") return l.id;
        return LabelForFilterPath(l.labels, path);
      });
      if (match) out.push_back(*std::move(lease));
      return true;
    });
  }));
  BERTH_RETURN_IF_ERROR(err);
  return out;
}

absl::Status LeaseStore::AddResource(const std::string& ns, const std::string& id,
                                     const Resource& r) {
  BERTH_RETURN_IF_ERROR(ValidateResource(r));
  return db_->Update([&](metadata::Txn& txn) { return AttachInTxn(txn, ns, id, r); });
}

absl::Status LeaseStore::DeleteResource(const std::string& ns, const std::string& id,
                                        const Resource& r) {
  BERTH_RETURN_IF_ERROR(ValidateResource(r));
  return db_->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(RequireLease(txn, ns, id));
    txn.Delete(ResKey(ns, id, r));
    return absl::OkStatus();
  });
}

absl::StatusOr<std::vector<Resource>> LeaseStore::ListResources(const std::string& ns,
                                                                const std::string& id) {
  absl::StatusOr<std::vector<Resource>> out;
  BERTH_RETURN_IF_ERROR(db_->View([&](const metadata::Reader& r) -> absl::Status {
    BERTH_RETURN_IF_ERROR(RequireLease(r, ns, id));
    out = Resources(r, ns, id);
    return absl::OkStatus();
  }));
  return out;
}

}  // namespace berth::leases
