// LocalSnapshotter: what the overlayfs and native snapshotters share — records in RocksDB
// (<root>/metadata.db), data in <root>/snapshots/<id>/, and containerd's rules about kinds,
// parents and names. Subclasses only decide how a new directory is populated and which mounts
// expose a snapshot. Internal to snapshotter/: users see the Snapshotter interface.
//
// Crash safety: a directory is created before its record is committed and deleted after its
// record is gone, so a crash leaves at worst an unreferenced directory, which Cleanup removes.
#pragma once

#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "snapshotter/metastore.h"
#include "snapshotter/snapshotter.h"

namespace berth::snapshotter {

class LocalSnapshotter : public Snapshotter {
 public:
  ~LocalSnapshotter() override;

  absl::StatusOr<Info> Stat(const std::string& ns, const std::string& key) override;
  absl::StatusOr<Info> Update(const std::string& ns, const Info& info,
                              const std::vector<std::string>& fieldpaths) override;
  absl::StatusOr<snapshotter::Usage> Usage(const std::string& ns, const std::string& key) override;
  absl::StatusOr<std::vector<mount::Mount>> Mounts(const std::string& ns,
                                                   const std::string& key) override;
  absl::StatusOr<std::vector<mount::Mount>> Prepare(const std::string& ns, const std::string& key,
                                                    const std::string& parent,
                                                    const Labels& labels) override;
  absl::StatusOr<std::vector<mount::Mount>> View(const std::string& ns, const std::string& key,
                                                 const std::string& parent,
                                                 const Labels& labels) override;
  absl::Status Commit(const std::string& ns, const std::string& name, const std::string& key,
                      const Labels& labels) override;
  absl::Status Remove(const std::string& ns, const std::string& key) override;
  absl::Status Walk(const std::string& ns, const WalkFn& fn, const WalkFilter& filter) override;
  absl::Status Cleanup() override;

  const std::string& root() const { return root_; }

 protected:
  // `remove_sync`: Remove deletes the directory at once; otherwise it is left for Cleanup
  // (containerd's overlayfs default, which keeps Remove fast).
  LocalSnapshotter(std::string root, bool remove_sync);

  // Creates <root>, <root>/snapshots and opens <root>/metadata.db. Call once from the
  // subclass' factory before use.
  absl::Status Init();

  std::string SnapshotDir(uint64_t id) const;  // <root>/snapshots/<id>
  std::string FsDir(uint64_t id) const;        // <root>/snapshots/<id>/fs
  std::string WorkDir(uint64_t id) const;      // <root>/snapshots/<id>/work

  // Fills the new, empty directory SnapshotDir(id). `parent_ids` is the chain of ancestors,
  // closest first (empty for no parent). Runs without the lock (it may copy a whole tree):
  // it must only write inside SnapshotDir(id) and read the parents' directories.
  virtual absl::Status Populate(uint64_t id, Kind kind, const std::vector<uint64_t>& parent_ids) = 0;

  // Mounts exposing an Active or View snapshot.
  virtual std::vector<mount::Mount> MountsFor(uint64_t id, Kind kind,
                                              const std::vector<uint64_t>& parent_ids) = 0;

  // Labels added to a new snapshot's record (e.g. the overlay upperdir label).
  virtual void AddCreateLabels(uint64_t id, Labels& labels) {}

 private:
  absl::StatusOr<std::vector<mount::Mount>> Create(Kind kind, const std::string& ns,
                                                   const std::string& key,
                                                   const std::string& parent,
                                                   const Labels& labels);
  absl::StatusOr<std::vector<uint64_t>> ParentIds(const std::string& ns, const std::string& parent)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<uint64_t> AllocateId() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // AlreadyExists for a taken key; NotFound / FailedPrecondition for a bad parent.
  absl::Status CheckCreatable(const std::string& ns, const std::string& key,
                              const std::string& parent) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string root_;
  const bool remove_sync_;
  absl::Mutex mu_;  // serialises every read-modify-write of records and directories
  std::unique_ptr<MetaStore> store_ ABSL_GUARDED_BY(mu_);
  // Ids whose directory exists but whose record is not written yet (Create in progress).
  std::set<uint64_t> creating_ ABSL_GUARDED_BY(mu_);
};

// Checks namespace and key (InvalidArgument). Exposed for tests.
absl::Status ValidateNamespaceAndKey(const std::string& ns, const std::string& key);

}  // namespace berth::snapshotter
