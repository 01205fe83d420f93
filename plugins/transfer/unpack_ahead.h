// Unpack ahead: extracts the layers of an image while a client-side pull (the stock
// `ctr images pull`) is still fetching it, so its later Diff.Apply calls only move a finished
// tree into place.
//
// ctr 1.6 fetches every blob through Content.Write (the manifest first, labelled with its
// gc.ref.content.l.<i> children), and only then, layer by layer, calls Snapshots.Prepare,
// Diff.Apply and Snapshots.Commit. Here:
//   1. a committed (or children-labelled) manifest teaches which blobs are layers, their media
//      type and position;
//   2. a committed layer blob is extracted (at most `max_concurrent` at once) into a plain
//      directory under our root - "staged" - as the transfer pull does: the base layer as onto
//      an empty bind (kPlain), the others as an overlay upper without lowers;
//   3. Diff.Apply onto a fresh Active of the overlayfs snapshotter (empty upperdir, or the
//      empty bind source of a first layer) waits for that layer's extraction, renames it onto
//      the empty directory, gives implicit directories their lower attributes
//      (diff::InheritImplicitDirs) and answers the diff ID the extraction computed. Anything
//      else falls back to the normal Apply (TryApply returns nullopt).
// Staged trees are not snapshots: no snapshotter record, no GC reference. Each is used once;
// the others go after `ttl`, when their blob is deleted, or at the next start (the whole
// staging directory is emptied then, so a crash leaves nothing behind that matters).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/mount/mount.h"
#include "plugins/diff/diff.h"
#include "plugins/images/images.h"
#include "plugins/metadata/plugin.h"

namespace berth::transfer {

struct UnpackAheadConfig {
  bool enabled = true;
  int max_concurrent = 2;  // extractions at once (each is about one core of inflate + writes)
  absl::Duration ttl = absl::Minutes(10);  // an unused staged tree is removed after this
  int64_t max_staged_bytes = int64_t{8} << 30;  // uncompressed bytes staged at once
  std::string snapshotter = "overlayfs";
  // The overlayfs snapshotter's root_path: only its snapshot directories are targets.
  std::string snapshotter_root;
  // Where staged trees live; must be on the snapshotter's filesystem (rename).
  std::string stage_root;
};

struct UnpackAheadStats {
  int64_t staged = 0;   // extractions finished successfully
  int64_t applied = 0;  // Diff.Apply calls answered from a staged tree
  int64_t fallback = 0; // Diff.Apply calls of a known layer that took the normal path
  int64_t removed = 0;  // staged trees dropped unused (ttl, delete, failure)
};

class UnpackAhead {
 public:
  // Empties (creates) config.stage_root and starts the workers. FailedPrecondition when the
  // stage root is not on the snapshotter root's filesystem.
  static absl::StatusOr<std::shared_ptr<UnpackAhead>> Create(
      std::shared_ptr<metadata::Metadata> md, UnpackAheadConfig config);
  // An instance that does nothing (every TryApply is nullopt): the plugin stays ready when the
  // feature is off or cannot work here, so the services that require it still start.
  static std::shared_ptr<UnpackAhead> Disabled();
  bool enabled() const { return config_.enabled; }
  ~UnpackAhead();
  UnpackAhead(const UnpackAhead&) = delete;
  UnpackAhead& operator=(const UnpackAhead&) = delete;

  // Content hooks (never fail: unpack ahead is only an optimisation).
  // Blob `digest` of `ns` was committed: learn it if it is a manifest, stage it if a layer.
  void BlobCommitted(const std::string& ns, const std::string& digest);
  // Labels of `digest` changed: a manifest labelled with layer children is learned.
  void LabelsUpdated(const std::string& ns, const std::string& digest,
                     const std::map<std::string, std::string>& labels);
  // Blob `digest` left `ns`: its staged tree (and what we learned of it) goes.
  void BlobDeleted(const std::string& ns, const std::string& digest);

  // Diff.Apply of layer `desc` onto `mounts` in `ns` from a staged tree. nullopt: not taken,
  // apply normally (nothing was changed). Otherwise the applied descriptor (uncompressed tar
  // media type, diff ID, size) or the error of finishing the move (the target then holds a
  // partial tree; the caller removes the snapshot as after a failed Apply).
  std::optional<absl::StatusOr<images::Descriptor>> TryApply(
      const std::string& ns, const images::Descriptor& desc,
      const std::vector<mount::Mount>& mounts);

  UnpackAheadStats stats() const;
  // Blocks until no extraction is queued or running (tests).
  void WaitIdleForTest();

 private:
  struct Stage;
  struct LayerRef {
    std::string media_type;
    size_t index = 0;
    absl::Time learned_at;
  };

  UnpackAhead(std::shared_ptr<metadata::Metadata> md, UnpackAheadConfig config);
  void Learn(const std::string& ns, const std::string& digest, bool from_labels);
  // Whether the chain snapshot of layer `index` is missing (so staging it is worth it).
  bool ChainMissing(const std::string& ns, const std::string& config_digest, size_t index);
  void Enqueue(const std::string& ns, const std::string& digest, const LayerRef& ref)
      ABSL_LOCKS_EXCLUDED(mu_);
  void Worker();
  void Extract(Stage& stage);
  void Reap(absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Trash(std::string dir) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool IsSnapshotDir(const std::string& dir) const;

  std::shared_ptr<metadata::Metadata> md_;
  const UnpackAheadConfig config_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t seq_ ABSL_GUARDED_BY(mu_) = 0;
  std::map<std::string, LayerRef> layers_ ABSL_GUARDED_BY(mu_);  // "<ns>\n<digest>"
  std::map<std::string, absl::Time> manifests_ ABSL_GUARDED_BY(mu_);  // learned already
  std::map<std::string, std::shared_ptr<Stage>> stages_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> trash_ ABSL_GUARDED_BY(mu_);
  int64_t staged_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  UnpackAheadStats stats_ ABSL_GUARDED_BY(mu_);
  std::vector<std::thread> workers_;
};

}  // namespace berth::transfer
