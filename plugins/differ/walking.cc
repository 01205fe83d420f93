#include "plugins/differ/walking.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/mount/temp_mount.h"
#include "core/mount/writable_dir.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/diff.h"

namespace berth::differ {
namespace {

diff::Reader ReaderOf(content::ReaderAt* r) {
  auto offset = std::make_shared<int64_t>(0);
  return [r, offset](char* buf, size_t len) -> absl::StatusOr<size_t> {
    BERTH_ASSIGN_OR_RETURN(size_t n, r->ReadAt(*offset, absl::Span<char>(buf, len)));
    *offset += static_cast<int64_t>(n);
    return n;
  };
}

}  // namespace

absl::StatusOr<images::Descriptor> WalkingDiffer::Apply(const std::string& ns,
                                                        const images::Descriptor& desc,
                                                        const std::vector<mount::Mount>& mounts) {
  if (staged_) {
    if (auto moved = staged_(ns, desc, mounts)) return std::move(*moved);
  }
  BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(desc.digest));
  BERTH_ASSIGN_OR_RETURN(auto reader, md_->content->OpenReader(ns, digest));
  diff::ApplyOptions opts;
  opts.expected_digest = desc.digest;
  absl::StatusOr<diff::ApplyResult> result;
  if (auto direct = mount::WritableDirOf(mounts)) {
    opts.mode = direct->overlay_upper ? diff::Mode::kOverlayUpper : diff::Mode::kPlain;
    opts.parents = direct->lowers;
    result = diff::Apply(ReaderOf(reader.get()), desc.media_type, direct->dir, opts);
    if (result.ok()) BERTH_RETURN_IF_ERROR(diff::SyncFilesystem(direct->dir));
  } else {
    BERTH_RETURN_IF_ERROR(mount::WithTempMount(mounts, [&](const std::string& root) {
      result = diff::Apply(ReaderOf(reader.get()), desc.media_type, root, opts);
      if (result.ok()) return diff::SyncFilesystem(root);
      return absl::OkStatus();
    }));
  }
  if (!result.ok()) return Annotate(result.status(), absl::StrCat("apply layer ", desc.digest));
  return images::Descriptor{"application/vnd.oci.image.layer.v1.tar", result->diff_id,
                            result->uncompressed_size, {}};
}

absl::StatusOr<images::Descriptor> WalkingDiffer::Diff(
    const std::string& ns, const std::string& lease, const std::vector<mount::Mount>& lower,
    const std::vector<mount::Mount>& upper, const std::string& media_type, const std::string& ref,
    std::map<std::string, std::string> labels) {
  diff::DiffOptions opts;
  if (media_type.empty() || absl::EndsWith(media_type, "gzip")) {
    opts.compression = diff::Compression::kGzip;
  } else if (absl::EndsWith(media_type, "zstd")) {
    opts.compression = diff::Compression::kZstd;
  } else if (absl::EndsWith(media_type, ".tar")) {
    opts.compression = diff::Compression::kNone;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unsupported diff media type ", media_type));
  }
  std::string ingest_ref =
      ref.empty() ? absl::StrCat("diff-", absl::ToUnixNanos(absl::Now())) : ref;
  BERTH_ASSIGN_OR_RETURN(auto writer,
                         md_->content->OpenWriter(ns, ingest_ref, 0, content::Digest(), lease));
  int64_t offset = 0;
  diff::Writer sink = [&](const char* buf, size_t len) -> absl::Status {
    BERTH_RETURN_IF_ERROR(writer->Write(offset, absl::string_view(buf, len)));
    offset += static_cast<int64_t>(len);
    return absl::OkStatus();
  };
  absl::StatusOr<diff::DiffResult> result;
  BERTH_RETURN_IF_ERROR(mount::WithTempMount(lower, [&](const std::string& lower_dir) {
    return mount::WithTempMount(upper, [&](const std::string& upper_dir) {
      result = diff::Diff(lower_dir, upper_dir, diff::Mode::kPlain, sink, opts);
      return absl::OkStatus();
    });
  }));
  BERTH_RETURN_IF_ERROR(result.status());
  labels[kUncompressedLabel] = result->diff_id;
  BERTH_ASSIGN_OR_RETURN(content::Digest expected, content::Digest::Parse(result->digest));
  auto committed = writer->Commit(result->size, expected, labels);
  if (!committed.ok() && !absl::IsAlreadyExists(committed.status())) return committed.status();
  return images::Descriptor{result->media_type, result->digest, result->size, {}};
}

}  // namespace berth::differ
