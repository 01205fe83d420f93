// The Snapshotter interface (containerd's snapshots.Snapshotter), namespaced.
//
// A snapshot is a directory tree identified by a key. Active snapshots are writable (a layer is
// applied into one, or a container runs on one); Commit turns an Active into a read-only
// Committed snapshot under a new name, which can be the parent of further snapshots; a View is
// a read-only snapshot of a Committed parent. Keys live in a namespace: the same key (e.g. an
// image layer's chain ID) in two namespaces names two independent snapshots.
//
// Every method takes the namespace first. Namespaces must be valid identifiers
// (core/identifiers.h) and keys non-empty without NUL bytes, else InvalidArgument.
// Implementations are safe to call from several threads.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "core/mount/mount.h"

namespace berth::snapshotter {

// Values match containerd.services.snapshots.v1.Kind.
enum class Kind { kUnknown = 0, kView = 1, kActive = 2, kCommitted = 3 };

const char* KindName(Kind kind);  // "view", "active", "committed", "unknown"

using Labels = std::map<std::string, std::string>;

struct Info {
  std::string name;    // the key
  std::string parent;  // key of the parent (always Committed), "" for none
  Kind kind = Kind::kUnknown;
  Labels labels;
  absl::Time created = absl::UnixEpoch();
  absl::Time updated = absl::UnixEpoch();
};

// (Spelled snapshotter::Usage inside classes, where Usage also names the method.)
struct Usage {
  int64_t size = 0;    // bytes on disk (st_blocks * 512), each inode once
  int64_t inodes = 0;  // distinct inodes, hardlinks counted once, directories included
};

// Walk callback; a non-OK status stops the walk and is returned by Walk.
using WalkFn = std::function<absl::Status(const Info&)>;
// Walk filter; only snapshots for which it returns true are passed to WalkFn. nullptr = all.
using WalkFilter = std::function<bool(const Info&)>;

class Snapshotter {
 public:
  virtual ~Snapshotter() = default;

  // Info of a snapshot. NotFound.
  virtual absl::StatusOr<Info> Stat(const std::string& ns, const std::string& key) = 0;

  // Updates the mutable fields of snapshot `info.name` (only labels are mutable) and returns
  // the new Info. `fieldpaths` empty or containing "labels" replaces all labels with
  // info.labels; "labels.<k>" sets label k to info.labels[k], or deletes it when absent there.
  // NotFound; InvalidArgument for any other field path or an invalid label.
  virtual absl::StatusOr<Info> Update(const std::string& ns, const Info& info,
                                      const std::vector<std::string>& fieldpaths) = 0;

  // Disk usage. Active: computed now from its directory; Committed: recorded at Commit; View:
  // zero (it owns no data). NotFound.
  virtual absl::StatusOr<snapshotter::Usage> Usage(const std::string& ns, const std::string& key) = 0;

  // Mounts of an Active or View snapshot. NotFound; FailedPrecondition for a Committed one.
  virtual absl::StatusOr<std::vector<mount::Mount>> Mounts(const std::string& ns,
                                                           const std::string& key) = 0;

  // Creates an Active snapshot `key` on top of Committed `parent` ("" = empty) and returns the
  // mounts to use it. AlreadyExists for a taken key; NotFound when `parent` does not exist;
  // FailedPrecondition when it is not Committed; InvalidArgument for bad labels.
  virtual absl::StatusOr<std::vector<mount::Mount>> Prepare(const std::string& ns,
                                                            const std::string& key,
                                                            const std::string& parent,
                                                            const Labels& labels = {}) = 0;

  // Like Prepare, but a read-only View. Same errors.
  virtual absl::StatusOr<std::vector<mount::Mount>> View(const std::string& ns,
                                                         const std::string& key,
                                                         const std::string& parent,
                                                         const Labels& labels = {}) = 0;

  // Turns Active `key` into Committed `name` (same data and parent, labels = `labels`, usage
  // recorded); `key` ceases to exist. Do not commit while the snapshot is still mounted.
  // NotFound (key); FailedPrecondition when `key` is not Active; AlreadyExists for `name`.
  virtual absl::Status Commit(const std::string& ns, const std::string& name,
                              const std::string& key, const Labels& labels = {}) = 0;

  // Removes a snapshot (any kind). NotFound; FailedPrecondition when it has children.
  // Its directory may be left for Cleanup (see the implementation's config).
  virtual absl::Status Remove(const std::string& ns, const std::string& key) = 0;

  // Calls fn for every snapshot of `ns` that passes `filter`, in key order. fn may call
  // other methods of this snapshotter.
  virtual absl::Status Walk(const std::string& ns, const WalkFn& fn,
                            const WalkFilter& filter = nullptr) = 0;

  // Removes snapshot directories that no record (in any namespace) points to: leftovers of
  // crashes and of asynchronous removal. Never removes a directory with a mount below it.
  virtual absl::Status Cleanup() = 0;
};

}  // namespace berth::snapshotter
