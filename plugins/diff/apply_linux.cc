// Apply: blob -> (count + sha256) -> decompress -> (sha256 = diff ID) -> libarchive -> Applier.
//
// We decompress ourselves rather than letting libarchive do it: igzip inflates several times
// faster than zlib, and the diff ID needs the uncompressed bytes anyway.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/applier.h"
#include "plugins/diff/diff.h"
#include "plugins/diff/tar_source.h"

namespace berth::diff {
namespace {

using internal::Applier;
using internal::Fd;
using internal::TarSource;

struct ReadContext {
  TarSource* source;
  absl::Status error;  // first error of the read side; libarchive only sees "fatal"
};

la_ssize_t ReadCallback(struct archive* a, void* opaque, const void** out) {
  auto* ctx = static_cast<ReadContext*>(opaque);
  auto chunk = ctx->source->Next();
  if (!chunk.ok()) {
    ctx->error = chunk.status();
    archive_set_error(a, EIO, "%s", std::string(chunk.status().message()).c_str());
    return ARCHIVE_FATAL;
  }
  *out = chunk->first;
  return static_cast<la_ssize_t>(chunk->second);
}

struct ArchiveCloser {
  void operator()(struct archive* a) const { archive_read_free(a); }
};

absl::Status TarError(struct archive* a, const ReadContext& ctx, absl::string_view what) {
  if (!ctx.error.ok()) return ctx.error;
  const char* msg = archive_error_string(a);
  return absl::InvalidArgumentError(
      absl::StrCat("invalid layer tar (", what, "): ", msg != nullptr ? msg : "unknown error"));
}

absl::Status ExtractAll(TarSource& source, Applier& applier) {
  ReadContext p{&source, absl::OkStatus()};
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
    BERTH_ASSIGN_OR_RETURN(auto chunk, source.Next());
    if (chunk.second == 0) break;
  }
  return applier.Finish();
}

}  // namespace

absl::Status InheritImplicitDirs(const std::string& upper,
                                 const std::vector<std::string>& implicit_dirs,
                                 const std::vector<std::string>& lowers) {
  Fd root(::open(upper.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus(absl::StrCat("open layer root ", upper));
  std::vector<Fd> lower_fds;
  for (const std::string& dir : lowers) {
    lower_fds.emplace_back(::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    if (!lower_fds.back().valid()) return ErrnoStatus(absl::StrCat("open lower directory ", dir));
  }
  const bool chown = ::geteuid() == 0;
  // Children first, as Applier::Finish: a parent made read-only must not stop its children.
  for (auto rel = implicit_dirs.rbegin(); rel != implicit_dirs.rend(); ++rel) {
    absl::StatusOr<Fd> dir = internal::OpenDirBeneath(root.get(), *rel, /*create=*/false);
    if (!dir.ok()) continue;
    for (const Fd& lower : lower_fds) {
      absl::StatusOr<Fd> from = internal::OpenDirBeneath(lower.get(), *rel, /*create=*/false);
      if (!from.ok()) continue;
      struct stat st;
      if (::fstatat(from->get(), "", &st, AT_EMPTY_PATH) != 0) {
        return ErrnoStatus(absl::StrCat("stat lower directory ", *rel));
      }
      BERTH_ASSIGN_OR_RETURN(Fd to, internal::ReopenDir(dir->get()));
      const struct timespec times[2] = {st.st_atim, st.st_mtim};
      if ((chown && ::fchown(to.get(), st.st_uid, st.st_gid) != 0) ||
          ::fchmod(to.get(), st.st_mode & 07777) != 0 || ::futimens(to.get(), times) != 0) {
        return ErrnoStatus(absl::StrCat("inherit attributes of directory ", *rel));
      }
      break;
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<ApplyResult> Apply(const Reader& reader, absl::string_view media_type,
                                  const std::string& root_dir, const ApplyOptions& options) {
  Fd root(::open(root_dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoStatus(absl::StrCat("open layer root ", root_dir));
  Applier applier(root.get(), options);
  BERTH_RETURN_IF_ERROR(applier.Init());
  TarSource source(reader, options.max_layer_size, options.decompress_in_thread);
  BERTH_RETURN_IF_ERROR(source.Start(media_type));
  BERTH_RETURN_IF_ERROR(Annotate(ExtractAll(source, applier), "apply layer"));

  ApplyResult result;
  result.diff_id = source.tar_digest();
  result.digest = source.blob_digest();
  result.compressed_size = source.compressed();
  result.uncompressed_size = source.uncompressed();
  result.entries = applier.entries();
  result.implicit_dirs = applier.implicit_dirs();
  result.root_listed = applier.root_listed();
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
