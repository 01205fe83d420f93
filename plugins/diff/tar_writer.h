// Writes an OCI layer tar from files on disk (internal to berth::diff).
//
// libarchive PAX writer -> sha256 (diff ID) -> compression -> sha256 + size -> Writer.
// Entries are built from lstat data (numeric owners, no uname/gname, mtime with nanoseconds),
// so the same tree gives the same bytes.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "plugins/diff/diff.h"
#include "plugins/diff/stream.h"

struct archive;
struct archive_entry;

namespace berth::diff::internal {

class TarWriter {
 public:
  // `writer` must outlive the TarWriter.
  TarWriter(const Writer& writer, Compression compression);
  ~TarWriter();
  TarWriter(const TarWriter&) = delete;
  TarWriter& operator=(const TarWriter&) = delete;

  absl::Status Open();

  // Writes the file at `abs_path` (stat data `st`, from lstat) under the name `rel`. A regular
  // file whose inode was already written becomes a hardlink entry.
  absl::Status AddPath(const std::string& abs_path, const std::string& rel, const struct stat& st);

  // Writes an empty regular file entry (whiteouts), mode 0, owner 0:0, mtime 0.
  absl::Status AddWhiteout(const std::string& rel);

  // Ends the archive, flushes compression and returns the digests.
  absl::StatusOr<DiffResult> Close();

 private:
  absl::Status WriteHeader(struct archive_entry* entry, const std::string& rel);
  absl::Status CopyData(const std::string& abs_path, int64_t size, const std::string& rel);

  const Writer& writer_;
  Compression compression_;
  struct archive* archive_ = nullptr;
  std::unique_ptr<Sink> sink_;
  Sha256 tar_hash_;
  Sha256 blob_hash_;
  int64_t blob_size_ = 0;
  absl::Status error_;  // first error below libarchive (it only sees "fatal")
  std::map<std::pair<dev_t, ino_t>, std::string> links_;

  friend struct TarWriterCallbacks;
};

// Xattrs of `path` (not following a final symlink) worth carrying in a layer: user.*,
// security.* except security.selinux, system.posix_acl_*. Sorted by name.
absl::StatusOr<std::map<std::string, std::string>> LayerXattrs(const std::string& path);

}  // namespace berth::diff::internal
