// berth::diff — applies OCI/Docker layer tars to a directory and computes layers from directories.
//
// Independent of gRPC, of the content store and of the snapshotter: the daemon reads a blob from
// the content store (as a `Reader`), mounts or locates a snapshot directory, and calls Apply; for
// a commit it calls Diff with the snapshot's directories and a content-store `Writer`.
//
// Security model (DESIGN.md "Nothing from a client or a registry is trusted"): every path in a
// layer is cleaned and rejected if absolute or containing "..", every parent directory is
// resolved beneath the root without following any symlink (openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS, or an O_NOFOLLOW walk), files are created with O_EXCL|O_NOFOLLOW after
// removing what was there, hardlink sources are resolved the same way. A refused entry fails the
// whole Apply with InvalidArgument naming the entry.
//
// On any error Apply leaves a partially extracted root_dir behind: the CALLER removes the
// partial snapshot (the snapshotter's Remove of the active snapshot).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "plugins/diff/stream.h"

namespace berth::diff {

enum class Mode {
  // root_dir is an overlayfs upper directory: a whiteout becomes a 0/0 character device, an
  // opaque directory gets trusted.overlay.opaque=y (both need root: CAP_MKNOD, CAP_SYS_ADMIN).
  kOverlayUpper,
  // root_dir is a full copy of the lower layers: a whiteout removes its target, an opaque
  // directory loses the content that this layer did not put there.
  kPlain,
};

struct ApplyOptions {
  Mode mode = Mode::kPlain;
  // When set, the sha256 of the uncompressed tar must equal it ("sha256:<hex>"), otherwise
  // FailedPrecondition naming both digests.
  std::optional<std::string> expected_diff_id;
  // When set, the sha256 of the blob as read (compressed) must equal it.
  std::optional<std::string> expected_digest;
  // Bounds against hostile layers (InvalidArgument naming the entry / the layer).
  int64_t max_entry_size = int64_t{64} << 30;   // one file's data
  int64_t max_layer_size = int64_t{512} << 30;  // uncompressed tar bytes
  int64_t max_entries = 10'000'000;
  // Owners are applied (lchown, numeric ids) only when this is true; nullopt = when running as
  // root. Without it, files belong to the caller.
  std::optional<bool> chown;
  // kOverlayUpper: the lower directories of the snapshot, uppermost first. A parent directory
  // that the layer does not list and the upper lacks is created with the owner, mode and times
  // of the first lower that has it (as containerd's mkparent), so it does not mask the lower's
  // attributes in the merged view. Without it such directories are 0755 root:root. Lowers are
  // only read, beneath their root, never following symlinks.
  std::vector<std::string> parents;
  // Read, inflate and hash in a helper thread while this thread writes files (the Reader is
  // then called from that thread, one call at a time). false: all in the calling thread.
  bool decompress_in_thread = true;
  // trusted.* xattrs from the tar are dropped unless this is set; trusted.overlay.* are always
  // dropped (they would steer overlayfs: redirect, metacopy, opaque outside whiteout rules).
  bool allow_trusted_xattrs = false;
};

struct ApplyResult {
  std::string diff_id;          // sha256 of the uncompressed tar, "sha256:<hex>"
  std::string digest;           // sha256 of the blob as read, "sha256:<hex>"
  int64_t compressed_size = 0;  // bytes read from the Reader
  int64_t uncompressed_size = 0;
  int64_t entries = 0;
  // kOverlayUpper: directories created for entries below them that the layer never lists
  // itself, parents first. Their attributes come from `parents`; a layer applied without them
  // gets them later from InheritImplicitDirs.
  std::vector<std::string> implicit_dirs;
  // The layer had a "./" entry (the root directory's own attributes). When it did not, a tree
  // applied elsewhere and moved into place should take the target root's attributes.
  bool root_listed = false;
};

// Extracts the layer read from `reader` into `root_dir` (must exist and be a directory).
// `media_type` selects decompression (see CompressionForMediaType; "" = detect by magic).
// The whole input is consumed (trailing tar padding is part of the diff ID).
// Errors: InvalidArgument (refused entry, bad tar, size bounds — names the entry),
// Unimplemented (unsupported compression, names the media type), DataLoss (corrupt
// compression), FailedPrecondition (diff ID / digest mismatch, names both digests),
// NotFound (root_dir or a hardlink source missing), PermissionDenied / Internal (syscalls),
// anything the Reader returns. No fsync: call SyncFilesystem once when done.
absl::StatusOr<ApplyResult> Apply(const Reader& reader, absl::string_view media_type,
                                  const std::string& root_dir, const ApplyOptions& options);

struct DiffOptions {
  Compression compression = Compression::kGzip;
};

struct DiffResult {
  std::string diff_id;  // sha256 of the uncompressed tar
  std::string digest;   // sha256 of what was written to the Writer
  int64_t size = 0;     // bytes written to the Writer
  std::string media_type;
};

// Writes the changes of `upper_dir` relative to `lower_dir` as an OCI layer tar (PAX, names
// sorted per directory, numeric owners, hardlinks as links, no uname/gname) into `writer`.
//   kOverlayUpper: upper_dir is an overlay upper; 0/0 char devices -> ".wh.<name>",
//     trusted.overlay.opaque=y -> "<dir>/.wh..wh..opq". lower_dir is not read (may be "").
//   kPlain: both are full trees; added/changed entries are written, removed ones as whiteouts.
// Same tree in, same bytes out. Errors: NotFound (a directory missing), Internal / errno codes,
// anything the Writer returns.
absl::StatusOr<DiffResult> Diff(const std::string& lower_dir, const std::string& upper_dir,
                                Mode mode, const Writer& writer, const DiffOptions& options = {});

// For a kOverlayUpper layer applied into `upper` without its lowers: gives each directory of
// `implicit_dirs` (ApplyResult::implicit_dirs) the owner, mode and times of the first of
// `lowers` (uppermost first) that has it, as Apply with `parents` would have. A directory that
// no lower has keeps 0755 root:root; one no longer in `upper` is skipped. Paths are resolved
// beneath each root without following symlinks. Errors: errno-mapped, naming the directory.
absl::Status InheritImplicitDirs(const std::string& upper,
                                 const std::vector<std::string>& implicit_dirs,
                                 const std::vector<std::string>& lowers);

// syncfs() on the filesystem holding `root`: one flush after Apply instead of a fsync per file.
absl::Status SyncFilesystem(const std::string& root);

}  // namespace berth::diff
