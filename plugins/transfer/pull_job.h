// Internal to the puller: the state of one pull shared by its threads.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "plugins/metadata/plugin.h"
#include "plugins/snapshots/leased_snapshots.h"
#include "plugins/transfer/puller.h"
#include "plugins/transfer/registry_client.h"

namespace berth::transfer::internal {

inline constexpr char kUncompressedLabel[] = "containerd.io/uncompressed";
inline constexpr char kRefContent[] = "containerd.io/gc.ref.content.";
inline constexpr char kRefSnapshot[] = "containerd.io/gc.ref.snapshot.";

// Collects item states and hands batches to the ProgressFn (byte counts at most every 100 ms).
class ProgressTracker {
 public:
  explicit ProgressTracker(const ProgressFn* fn) : fn_(fn) {}
  void Set(const Descriptor& d, const std::string& kind, const std::string& state,
           int64_t offset = -1, const std::string& error = "");
  void Bytes(const Descriptor& d, const std::string& kind, int64_t offset,
             const std::string& state = "downloading");
  // The first error the ProgressFn returned (the pull is then cancelled).
  absl::Status status();

 private:
  void EmitLocked(const ProgressItem& item, bool force) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  const ProgressFn* fn_;
  std::mutex mu_;
  absl::Time last_emit_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  std::map<std::string, ProgressItem> pending_ ABSL_GUARDED_BY(mu_);
  absl::Status status_ ABSL_GUARDED_BY(mu_);
};

struct PullJob {
  std::shared_ptr<metadata::Metadata> md;
  const PullerConfig* config;
  std::string ns;
  std::string lease;
  std::string snapshotter;  // resolved name
  bool unpack = true;
  int max_downloads = 3;
  std::unique_ptr<RegistryClient> client;  // null for an import: blobs must be in the store
  std::unique_ptr<snapshotter::LeasedSnapshots> snapshots;
  ProgressTracker* progress;
  std::atomic<bool> cancelled{false};
  std::map<std::string, std::string> source_labels;  // containerd.io/distribution.source.*

  bool Cancelled() const { return cancelled.load(); }

  // The bytes of a manifest/index/config: from the store when `ns` has it, else fetched.
  absl::StatusOr<std::string> Document(const Descriptor& d, const std::string& kind);
  // Stores small verified `bytes` as blob `d` with `labels` (on an existing blob: labels are
  // merged in and the blob is added to the lease).
  absl::Status WriteBlob(const Descriptor& d, const std::string& kind, const std::string& bytes,
                         const std::map<std::string, std::string>& labels);
  // Merges labels into an existing blob of `ns` and protects it with the lease.
  absl::Status KeepExisting(const content::Digest& digest,
                            const std::map<std::string, std::string>& labels);
  // Config, layers (downloaded + unpacked) and the manifest with its gc labels.
  absl::Status HandleManifest(const Descriptor& d, const std::string& bytes, bool unpack_this);
};

// Creates image `name` -> `target`, or points an existing one at it (labels replaced).
absl::Status PutImage(metadata::Metadata& md, const std::string& ns, const std::string& name,
                      const Descriptor& target, const std::map<std::string, std::string>& labels);

// Downloads and unpacks the layers of one manifest; returns the chain IDs.
absl::StatusOr<std::vector<std::string>> PullLayers(PullJob& job,
                                                    const std::vector<Descriptor>& layers,
                                                    const std::vector<std::string>& diff_ids,
                                                    bool unpack);

}  // namespace berth::transfer::internal
