// The per-entry half of Apply: OCI layer semantics on top of safe_fs (internal).
#pragma once

#include <sys/stat.h>

#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "absl/status/status.h"
#include "plugins/diff/diff.h"
#include "plugins/diff/safe_fs.h"

struct archive;
struct archive_entry;

namespace berth::diff::internal {

class Applier {
 public:
  // `root_fd` must stay open for the Applier's lifetime.
  Applier(int root_fd, const ApplyOptions& options);

  // Opens options.parents. NotFound when one is missing.
  absl::Status Init();

  // Applies the entry that libarchive just read (data is read from `a` for regular files).
  // Errors name the entry.
  absl::Status ApplyEntry(struct archive* a, struct archive_entry* entry);

  // Directory modes and mtimes, deferred because creating children changes a directory's
  // mtime (and because a read-only directory could not receive its children).
  absl::Status Finish();

  int64_t entries() const { return entries_; }
  bool root_listed() const { return root_listed_; }
  // kOverlayUpper: the directories created for entries below them, less those the layer
  // listed later, in creation order.
  std::vector<std::string> implicit_dirs() const;

 private:
  struct DeferredDir {
    std::string rel;
    mode_t mode;
    struct timespec times[2];
  };

  absl::Status ApplyClean(struct archive* a, struct archive_entry* entry, const std::string& rel);
  absl::Status ApplyWhiteout(const std::string& parent, const std::string& base);
  absl::Status ApplyHardlink(int pfd, const std::string& base, const std::string& rel,
                             const char* target);
  absl::Status CreateNode(struct archive* a, struct archive_entry* entry, int pfd,
                          const std::string& base, const std::string& rel);
  absl::Status WriteRegular(struct archive* a, struct archive_entry* entry, int fd);
  // Owner, xattrs, mode, times of a fresh non-directory reached by (pfd, base) or `fd`.
  absl::Status SetMetadata(struct archive_entry* entry, int fd, int pfd, const std::string& base);
  absl::Status SetDirMetadata(struct archive_entry* entry, int dir_fd, const std::string& rel);
  absl::Status SetXattrs(struct archive_entry* entry, int fd, int pfd, const std::string& base);

  // Parent directories are resolved once per run of entries that share them.
  absl::StatusOr<int> Parent(const std::string& parent, bool create);
  // Directory attributes to set at the end; an entry of the layer overrides what was recorded
  // for the directory before (its lower attributes), not the other way round.
  void Defer(DeferredDir dir, bool from_entry);
  absl::Status KeepTimesOf(int dir_fd, const std::string& rel);
  // A directory created implicitly: copy attributes from the first lower that has it.
  absl::Status InheritFromLowers(int parent_fd, const std::string& name, const std::string& rel);
  void InvalidateParentCache();
  // Remembers what this layer created: only kPlain opaque directories need it.
  void Unpacked(const std::string& rel) {
    if (options_.mode == Mode::kPlain) unpacked_.insert(rel);
  }

  // Removes whatever (pfd, base) holds unless both it and the entry are directories.
  // Sets *merge_dir when an existing directory is kept.
  absl::Status ReplaceExisting(int pfd, const std::string& base, bool entry_is_dir,
                               bool* merge_dir);

  int root_fd_;
  ApplyOptions options_;
  bool chown_;
  bool is_root_;
  int64_t entries_ = 0;
  bool root_listed_ = false;
  std::vector<std::string> implicit_dirs_;
  std::unordered_set<std::string> listed_dirs_;  // directories with an entry of their own
  std::string cached_parent_;
  Fd cached_parent_fd_;
  std::unordered_set<std::string> unpacked_;
  std::vector<DeferredDir> deferred_dirs_;
  std::unordered_map<std::string, size_t> deferred_index_;
  std::vector<Fd> lower_fds_;
};

}  // namespace berth::diff::internal
