// Apply: blob -> (count + sha256) -> decompress -> (sha256 = diff ID) -> libarchive -> Applier.
//
// We decompress ourselves rather than letting libarchive do it: igzip inflates several times
// faster than zlib, and the diff ID needs the uncompressed bytes anyway.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/applier.h"
#include "plugins/diff/diff.h"

namespace berth::diff {
namespace {

using internal::Applier;
using internal::Fd;

struct Pipeline {
  Reader tar;  // decompressed
  Sha256 blob_hash;
  Sha256 tar_hash;
  int64_t compressed = 0;
  int64_t uncompressed = 0;
  int64_t max_layer_size = 0;
  std::vector<char> buf = std::vector<char>(kBufferSize);
  absl::Status error;  // first error of the read side; libarchive only sees "fatal"

  // Fills buf as far as possible so libarchive hands out large data blocks.
  absl::StatusOr<size_t> Fill() {
    size_t got = 0;
    while (got < buf.size()) {
      BERTH_ASSIGN_OR_RETURN(size_t n, tar(buf.data() + got, buf.size() - got));
      if (n == 0) break;
      got += n;
    }
    tar_hash.Update(buf.data(), got);
    uncompressed += static_cast<int64_t>(got);
    if (uncompressed > max_layer_size) {
      return absl::InvalidArgumentError(
          absl::StrCat("layer is larger than the limit of ", max_layer_size, " bytes"));
    }
    return got;
  }
};

la_ssize_t ReadCallback(struct archive* a, void* opaque, const void** out) {
  auto* p = static_cast<Pipeline*>(opaque);
  absl::StatusOr<size_t> n = p->Fill();
  if (!n.ok()) {
    p->error = n.status();
    archive_set_error(a, EIO, "%s", std::string(n.status().message()).c_str());
    return ARCHIVE_FATAL;
  }
  *out = p->buf.data();
  return static_cast<la_ssize_t>(*n);
}

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

absl::Status TarError(struct archive* a, const Pipeline& p, absl::string_view what) {
  if (!p.error.ok()) return p.error;
  const char* msg = archive_error_string(a);
  return absl::InvalidArgumentError(
      absl::StrCat("invalid layer tar (", what, "): ", msg != nullptr ? msg : "unknown error"));
}

absl::Status ExtractAll(Pipeline& p, Applier& applier) {
  std::unique_ptr<struct archive, ArchiveCloser> a(archive_read_new());
  archive_read_support_format_tar(a.get());
  if (archive_read_open(a.get(), &p, nullptr, ReadCallback, nullptr) != ARCHIVE_OK) {
    return TarError(a.get(), p, "open");
  }
  for (;;) {
    struct archive_entry* entry = nullptr;
    int r = archive_read_next_header(a.get(), &entry);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return TarError(a.get(), p, "header");
    absl::Status s = applier.ApplyEntry(a.get(), entry);
    if (!s.ok()) return p.error.ok() ? s : p.error;
  }
  // The diff ID covers the whole uncompressed stream, padding after the end marker included.
  for (;;) {
    absl::StatusOr<size_t> n = p.Fill();
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  return applier.Finish();
}

}  // namespace

absl::StatusOr<ApplyResult> Apply(const Reader& reader, absl::string_view media_type,
                                  const std::string& root_dir, const ApplyOptions& options) {
  Fd root(::open(root_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus(absl::StrCat("open layer root ", root_dir));
  Pipeline p;
  p.max_layer_size = options.max_layer_size;
  Reader counted = [&reader, &p](char* buf, size_t len) -> absl::StatusOr<size_t> {
    BERTH_ASSIGN_OR_RETURN(size_t n, reader(buf, len));
    p.blob_hash.Update(buf, n);
    p.compressed += static_cast<int64_t>(n);
    return n;
  };
  BERTH_ASSIGN_OR_RETURN(p.tar, NewDecompressingReader(std::move(counted), media_type));
  Applier applier(root.get(), options);
  BERTH_RETURN_IF_ERROR(applier.Init());
  BERTH_RETURN_IF_ERROR(Annotate(ExtractAll(p, applier), absl::StrCat("apply layer")));

  ApplyResult result;
  result.diff_id = p.tar_hash.Digest();
  result.digest = p.blob_hash.Digest();
  result.compressed_size = p.compressed;
  result.uncompressed_size = p.uncompressed;
  result.entries = applier.entries();
  if (options.expected_diff_id && *options.expected_diff_id != result.diff_id) {
    return absl::FailedPreconditionError(absl::StrCat(
        "layer diff ID mismatch: expected ", *options.expected_diff_id, ", got ", result.diff_id));
  }
  if (options.expected_digest && *options.expected_digest != result.digest) {
    return absl::FailedPreconditionError(absl::StrCat(
        "layer digest mismatch: expected ", *options.expected_digest, ", got ", result.digest));
  }
  return result;
}

absl::Status SyncFilesystem(const std::string& root) {
  Fd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus(absl::StrCat("open ", root));
  if (::syncfs(fd.get()) != 0) return ErrnoStatus(absl::StrCat("syncfs ", root));
  return absl::OkStatus();
}

}  // namespace berth::diff
