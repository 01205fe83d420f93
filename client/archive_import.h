// Client-side import of an OCI image layout tarball (what `ctr images import` does): blobs are
// streamed into the content store, index.json entries become image records, and the images
// are unpacked into snapshots. Used when the daemon has no transfer service; the daemon-side
// Transfer.Import is preferred (it also reads `docker save` archives).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "client/images.h"
#include "client/meta.h"
#include "client/transfer.h"

namespace berth::client {

struct ArchiveImportOptions {
  std::string base_name;  // names entries that only carry a tag: "<base_name>:<tag>"
  bool unpack = true;
  std::string snapshotter = "overlayfs";
  Labels labels;
};

// One tar entry: its path and size; the reader is positioned at its data.
struct TarEntry {
  std::string name;  // without a leading "./"
  char type = '0';   // '0' file, '5' dir, '2' symlink...
  int64_t size = 0;
};

// A minimal streaming reader of ustar/GNU/pax tar archives (what OCI layouts use).
class TarReader {
 public:
  explicit TarReader(int fd) : fd_(fd) {}
  // The next entry (skipping what is left of the previous one), or NotFound at the end.
  // DataLoss on a truncated or corrupt archive.
  absl::StatusOr<TarEntry> Next();
  // Reads up to `cap` bytes of the current entry; 0 at its end, -1 on error.
  int64_t Read(char* buf, size_t cap);

 private:
  absl::Status Skip(int64_t n);
  int fd_;
  int64_t remaining_ = 0;  // of the current entry
  int64_t padding_ = 0;    // after it
};

// The images index.json of an OCI layout names (entries with io.containerd.image.name, or
// org.opencontainers.image.ref.name as "<base_name>:<tag>"), as records to create, with
// options.labels. Nameless entries are only content, like ctr's. InvalidArgument for malformed
// JSON or an entry of the wrong types.
absl::StatusOr<std::vector<impb::Image>> ImagesOfIndex(const std::string& index_text,
                                                       const ArchiveImportOptions& options);

// Imports `path` (a file readable by this process). Returns the images created/updated.
// Unimplemented for a `docker save` archive (no index.json); InvalidArgument when index.json
// is malformed or an entry has no usable name; content/snapshot errors otherwise.
absl::StatusOr<std::vector<impb::Image>> ImportArchive(Meta& meta, Images& images,
                                                       Content& content, Snapshots& snapshots,
                                                       const std::string& path,
                                                       const ArchiveImportOptions& options,
                                                       const ProgressCallback& progress,
                                                       const CallOptions& call = {});

}  // namespace berth::client
