#include "plugins/snapshots/leased_snapshots.h"

#include "absl/strings/str_cat.h"
#include "plugins/leases/leases.h"
#include "plugins/metadata/namespaces.h"

namespace berth::snapshotter {

absl::StatusOr<Snapshotter*> LeasedSnapshots::Get(const std::string& name) {
  std::string n = name.empty() ? "overlayfs" : name;
  auto it = md_->snapshotters.find(n);
  if (it == md_->snapshotters.end()) {
    return absl::NotFoundError(absl::StrCat("snapshotter ", n, " was not found"));
  }
  return it->second.get();
}

absl::Status LeasedSnapshots::Attach(const std::string& ns, const std::string& lease,
                                     const std::string& snapshotter, const std::string& key) {
  std::string n = snapshotter.empty() ? "overlayfs" : snapshotter;
  return md_->db->Update([&](metadata::Txn& txn) -> absl::Status {
    BERTH_RETURN_IF_ERROR(metadata::EnsureNamespace(txn, ns));
    return leases::AttachInTxn(txn, ns, lease, {key, "snapshots/" + n});
  });
}

absl::StatusOr<std::vector<mount::Mount>> LeasedSnapshots::Create(
    bool view, const std::string& ns, const std::string& lease, const std::string& snapshotter,
    const std::string& key, const std::string& parent, const Labels& labels) {
  BERTH_ASSIGN_OR_RETURN(Snapshotter * sn, Get(snapshotter));
  auto guard = md_->db->GuardMutation();
  // The lease (and namespace) first: a missing lease fails before anything is created.
  BERTH_RETURN_IF_ERROR(Attach(ns, lease, snapshotter, key));
  return view ? sn->View(ns, key, parent, labels) : sn->Prepare(ns, key, parent, labels);
}

absl::Status LeasedSnapshots::Commit(const std::string& ns, const std::string& lease,
                                     const std::string& snapshotter, const std::string& name,
                                     const std::string& key, const Labels& labels) {
  BERTH_ASSIGN_OR_RETURN(Snapshotter * sn, Get(snapshotter));
  auto guard = md_->db->GuardMutation();
  BERTH_RETURN_IF_ERROR(Attach(ns, lease, snapshotter, name));
  return sn->Commit(ns, name, key, labels);
}

}  // namespace berth::snapshotter
