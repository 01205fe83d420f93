// Puller::Export: an OCI image layout tar (oci-layout, index.json, blobs/sha256/<hex>) of
// images from the content store, written with libarchive to a temp file, fsynced, renamed.
#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "plugins/transfer/pull_job.h"
#include "plugins/transfer/puller.h"
#include "plugins/transfer/reference.h"

namespace berth::transfer {
namespace {

struct Walk {
  metadata::Metadata* md;
  const std::string& ns;
  const std::vector<Platform>& platforms;
  std::vector<Descriptor> blobs;  // children before parents, each once
  std::set<std::string> seen;

  bool Present(const std::string& digest) {
    auto d = content::Digest::Parse(digest);
    return d.ok() && md->content->GetInfo(ns, *d).ok();
  }
  absl::StatusOr<std::string> Read(const Descriptor& d) {
    BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(d.digest));
    BERTH_ASSIGN_OR_RETURN(auto r, md->content->OpenReader(ns, digest));
    if (r->Size() > kMaxManifestSize) return absl::ResourceExhaustedError(d.digest + " too large");
    return r->Read(0, static_cast<size_t>(r->Size()));
  }
  absl::Status Add(const Descriptor& d) {
    if (!seen.insert(d.digest).second) return absl::OkStatus();
    if (!Present(d.digest)) return absl::NotFoundError(absl::StrCat("blob ", d.digest, " is not in the store"));
    if (IsIndexType(d.media_type)) {
      BERTH_ASSIGN_OR_RETURN(std::string bytes, Read(d));
      BERTH_ASSIGN_OR_RETURN(std::vector<Descriptor> children, ParseIndex(bytes));
      for (const Descriptor& c : children) {
        bool wanted = platforms.empty() || !c.platform ||
                      std::any_of(platforms.begin(), platforms.end(),
                                  [&](const Platform& p) { return Matches(p, *c.platform); });
        // Without a platform filter, children that were never pulled are left out.
        if (!wanted || (platforms.empty() && !Present(c.digest))) continue;
        BERTH_RETURN_IF_ERROR(Add(c));
      }
    } else if (IsManifestType(d.media_type)) {
      BERTH_ASSIGN_OR_RETURN(std::string bytes, Read(d));
      BERTH_ASSIGN_OR_RETURN(Manifest m, ParseManifest(bytes));
      BERTH_RETURN_IF_ERROR(Add(m.config));
      for (const Descriptor& l : m.layers) BERTH_RETURN_IF_ERROR(Add(l));
    }
    blobs.push_back(d);
    return absl::OkStatus();
  }
};

absl::Status WriteEntry(archive* a, const std::string& name, int64_t size,
                        const std::function<absl::Status(archive*)>& body) {
  std::unique_ptr<archive_entry, void (*)(archive_entry*)> e(archive_entry_new(),
                                                             archive_entry_free);
  archive_entry_set_pathname(e.get(), name.c_str());
  archive_entry_set_filetype(e.get(), AE_IFREG);
  archive_entry_set_perm(e.get(), 0444);
  archive_entry_set_size(e.get(), size);
  if (archive_write_header(a, e.get()) != ARCHIVE_OK) {
    return absl::InternalError(absl::StrCat("write ", name, ": ", archive_error_string(a)));
  }
  return body(a);
}

absl::Status WriteBytes(archive* a, absl::string_view data) {
  if (archive_write_data(a, data.data(), data.size()) != static_cast<la_ssize_t>(data.size())) {
    return absl::InternalError(absl::StrCat("archive write: ", archive_error_string(a)));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Puller::Export(const std::string& ns, const ExportOptions& o,
                            const ProgressFn& progress_fn) {
  if (o.path.empty() || o.images.empty()) {
    return absl::InvalidArgumentError("export: a path and at least one image are required");
  }
  internal::ProgressTracker progress(&progress_fn);
  Walk walk{md_.get(), ns, o.platforms, {}, {}};
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", kOciIndex},
                          {"manifests", nlohmann::json::array()}};
  for (const std::string& name : o.images) {
    BERTH_ASSIGN_OR_RETURN(images::Image img, md_->images->Get(ns, name));
    Descriptor t{img.target.media_type, img.target.digest, img.target.size, std::nullopt, {}};
    BERTH_RETURN_IF_ERROR(Annotate(walk.Add(t), absl::StrCat("export ", name)));
    nlohmann::json annotations = {{"io.containerd.image.name", name}};
    if (auto ref = ParseReference(name); ref.ok() && !ref->tag.empty()) {
      annotations["org.opencontainers.image.ref.name"] = ref->tag;
    }
    index["manifests"].push_back({{"mediaType", t.media_type}, {"digest", t.digest},
                                  {"size", t.size}, {"annotations", annotations}});
  }
  std::string tmp = absl::StrCat(o.path, ".tmp-", getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(absl::StrCat("create ", tmp));
  std::unique_ptr<archive, int (*)(archive*)> a(archive_write_new(), archive_write_free);
  archive_write_set_format_pax_restricted(a.get());
  archive_write_set_bytes_in_last_block(a.get(), 1);
  auto run = [&]() -> absl::Status {
    if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) {
      return absl::InternalError(absl::StrCat("archive open: ", archive_error_string(a.get())));
    }
    std::string layout = R"({"imageLayoutVersion":"1.0.0"})";
    BERTH_RETURN_IF_ERROR(WriteEntry(a.get(), "oci-layout", layout.size(),
                                     [&](archive* w) { return WriteBytes(w, layout); }));
    std::string buf(1 << 20, '\0');
    for (const Descriptor& d : walk.blobs) {
      BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(d.digest));
      BERTH_ASSIGN_OR_RETURN(auto r, md_->content->OpenReader(ns, digest));
      BERTH_RETURN_IF_ERROR(WriteEntry(
          a.get(), absl::StrCat("blobs/sha256/", digest.hex()), r->Size(), [&](archive* w) {
            for (int64_t off = 0; off < r->Size();) {
              BERTH_ASSIGN_OR_RETURN(size_t n, r->ReadAt(off, absl::Span<char>(buf.data(), buf.size())));
              if (n == 0) return absl::DataLossError(absl::StrCat(d.digest, " is shorter than recorded"));
              BERTH_RETURN_IF_ERROR(WriteBytes(w, absl::string_view(buf.data(), n)));
              off += static_cast<int64_t>(n);
            }
            return absl::OkStatus();
          }));
      progress.Set(d, "blob", "done");
    }
    std::string idx = index.dump();
    BERTH_RETURN_IF_ERROR(WriteEntry(a.get(), "index.json", idx.size(),
                                     [&](archive* w) { return WriteBytes(w, idx); }));
    if (archive_write_close(a.get()) != ARCHIVE_OK) {
      return absl::InternalError(absl::StrCat("archive close: ", archive_error_string(a.get())));
    }
    if (fsync(fd) != 0) return ErrnoStatus("fsync " + tmp);
    return progress.status();
  };
  absl::Status s = run();
  a.reset();
  close(fd);
  if (s.ok() && rename(tmp.c_str(), o.path.c_str()) != 0) s = ErrnoStatus("rename to " + o.path);
  if (!s.ok()) unlink(tmp.c_str());
  return s;
}

}  // namespace berth::transfer
