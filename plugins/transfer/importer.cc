// Puller::Import: OCI image layout tarballs and `docker save` archives, read in one pass with
// libarchive (gzip-compressed archives too). Blobs go straight into the content store while
// being hashed; the metadata files (index.json, manifest.json) are small and kept in memory.
#include <archive.h>
#include <archive_entry.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"
#include "plugins/transfer/pull_job.h"
#include "plugins/transfer/puller.h"
#include "plugins/transfer/reference.h"

namespace berth::transfer {
namespace {

using internal::PullJob;

struct Stored {
  std::string digest;
  int64_t size = 0;
};

struct Contents {
  std::map<std::string, std::string> meta;  // index.json, manifest.json, ...
  std::map<std::string, Stored> files;      // archive path -> blob
};

bool IsMeta(const std::string& p) {
  return p == "index.json" || p == "manifest.json" || p == "oci-layout" || p == "repositories";
}

bool IsBlob(const std::string& p) {
  return absl::StartsWith(p, "blobs/") || absl::EndsWith(p, "/layer.tar") ||
         (!absl::StrContains(p, '/') && absl::EndsWith(p, ".json"));
}

absl::Status ArchiveError(archive* a, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat(
      what, ": ", archive_error_string(a) ? archive_error_string(a) : "unreadable archive"));
}

// Streams the current entry into the content store, hashing it; the name's digest (blobs/
// sha256/<hex>) must match.
absl::StatusOr<Stored> StoreEntry(PullJob& job, archive* a, const std::string& name, int64_t size) {
  content::Digest expected;
  if (absl::StartsWith(name, "blobs/sha256/")) {
    auto parsed = content::Digest::Parse("sha256:" + name.substr(13));
    if (!parsed.ok()) return Annotate(parsed.status(), absl::StrCat("archive entry ", name));
    expected = *parsed;
  }
  std::string ref = absl::StrCat(
      "import-", expected.empty() ? content::Digest::Sha256Of(name).str() : expected.str());
  auto w = job.md->content->OpenWriter(job.ns, ref, size, expected, job.lease);
  if (absl::IsAlreadyExists(w.status())) {
    // The entry's bytes are not read: its size is the stored blob's, not what the header says.
    archive_read_data_skip(a);
    BERTH_ASSIGN_OR_RETURN(content::Info info, job.md->content->GetInfo(job.ns, expected));
    BERTH_RETURN_IF_ERROR(job.KeepExisting(expected, {}));
    return Stored{expected.str(), info.size};
  }
  BERTH_RETURN_IF_ERROR(w.status());
  content::Sha256Hasher hasher;
  std::string buf(1 << 20, '\0');
  int64_t offset = 0;
  for (;;) {
    la_ssize_t n = archive_read_data(a, buf.data(), buf.size());
    if (n < 0) return ArchiveError(a, absl::StrCat("read ", name));
    if (n == 0) break;
    absl::string_view chunk(buf.data(), static_cast<size_t>(n));
    hasher.Update(chunk);
    BERTH_RETURN_IF_ERROR((*w)->Write(offset, chunk));
    offset += n;
  }
  content::Digest got = hasher.Current();
  if (!expected.empty() && got != expected) {
    return absl::FailedPreconditionError(
        absl::StrCat("archive entry ", name, ": digest mismatch: got ", got.str()));
  }
  auto committed = (*w)->Commit(offset, got, job.source_labels);
  if (absl::IsAlreadyExists(committed.status())) {
    BERTH_RETURN_IF_ERROR(job.KeepExisting(got, {}));
  } else {
    BERTH_RETURN_IF_ERROR(committed.status());
  }
  job.progress->Set({"", got.str(), offset, std::nullopt, {}}, "blob", "done");
  return Stored{got.str(), offset};
}

absl::StatusOr<Contents> ReadArchive(PullJob& job, const std::string& path) {
  std::unique_ptr<archive, int (*)(archive*)> a(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(a.get());
  archive_read_support_filter_all(a.get());
  if (archive_read_open_filename(a.get(), path.c_str(), 1 << 20) != ARCHIVE_OK) {
    return ArchiveError(a.get(), absl::StrCat("open ", path));
  }
  Contents out;
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r != ARCHIVE_OK && r != ARCHIVE_WARN) return ArchiveError(a.get(), path);
    if (job.Cancelled()) return absl::CancelledError("import cancelled");
    std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
    while (absl::StartsWith(name, "./")) name.erase(0, 2);
    if (archive_entry_filetype(e) != AE_IFREG) continue;
    int64_t size = archive_entry_size(e);
    if (IsMeta(name)) {
      if (size > kMaxManifestSize) {
        return absl::InvalidArgumentError(absl::StrCat(name, " is larger than ", kMaxManifestSize));
      }
      std::string data(static_cast<size_t>(size), '\0');
      if (archive_read_data(a.get(), data.data(), data.size()) != size) {
        return ArchiveError(a.get(), absl::StrCat("read ", name));
      }
      out.meta[name] = std::move(data);
    } else if (IsBlob(name)) {
      BERTH_ASSIGN_OR_RETURN(out.files[name], StoreEntry(job, a.get(), name, size));
    }
  }
  return out;
}

// The name an OCI layout gives descriptor `d`, normalised; "" when it gives none.
absl::StatusOr<std::string> OciName(const Descriptor& d, const std::string& base) {
  std::string name;
  auto get = [&](const char* k) {
    auto it = d.annotations.find(k);
    return it == d.annotations.end() ? std::string() : it->second;
  };
  std::string full = get("io.containerd.image.name");
  std::string tag = get("org.opencontainers.image.ref.name");
  if (!full.empty()) {
    name = full;
  } else if (!tag.empty() && (absl::StrContains(tag, '/') || absl::StrContains(tag, '@'))) {
    name = tag;  // a full reference used as ref.name (skopeo, buildkit)
  } else if (!base.empty()) {
    name = tag.empty() ? absl::StrCat(base, "@", d.digest) : absl::StrCat(base, ":", tag);
  }
  if (name.empty()) return name;
  BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(name));
  return ref.String();
}

// An index from the archive: its children for this platform are handled (unpacked when asked),
// children the archive lacks are skipped (a partial multi-platform export).
absl::Status HandleIndex(PullJob& job, const Descriptor& d, bool unpack) {
  BERTH_ASSIGN_OR_RETURN(std::string bytes, job.Document(d, "index"));
  BERTH_ASSIGN_OR_RETURN(std::vector<Descriptor> children, ParseIndex(bytes));
  std::map<std::string, std::string> labels;
  bool unpacked = false;
  Platform self = DefaultPlatform();
  for (size_t i = 0; i < children.size(); ++i) {
    const Descriptor& c = children[i];
    auto digest = content::Digest::Parse(c.digest);
    if (!digest.ok() || !job.md->content->GetInfo(job.ns, *digest).ok()) continue;
    labels[absl::StrCat(internal::kRefContent, "m.", i)] = c.digest;
    if (!IsManifestType(c.media_type)) continue;
    bool mine = !unpacked && (!c.platform || Matches(self, *c.platform));
    BERTH_ASSIGN_OR_RETURN(std::string mb, job.Document(c, "manifest"));
    BERTH_RETURN_IF_ERROR(job.HandleManifest(c, mb, unpack && mine));
    unpacked |= mine;
  }
  return job.WriteBlob(d, "index", bytes, labels);
}

absl::StatusOr<std::vector<PullResult>> ImportOci(PullJob& job, const Contents& c,
                                                  const ImportOptions& o) {
  BERTH_ASSIGN_OR_RETURN(std::vector<Descriptor> tops, ParseIndex(c.meta.at("index.json")));
  std::vector<PullResult> out;
  for (const Descriptor& d : tops) {
    BERTH_ASSIGN_OR_RETURN(std::string name, OciName(d, o.base_name));
    if (name.empty()) continue;
    if (IsIndexType(d.media_type)) {
      BERTH_RETURN_IF_ERROR(HandleIndex(job, d, o.unpack));
    } else {
      BERTH_ASSIGN_OR_RETURN(std::string bytes, job.Document(d, "manifest"));
      BERTH_RETURN_IF_ERROR(job.HandleManifest(d, bytes, o.unpack));
    }
    BERTH_RETURN_IF_ERROR(internal::PutImage(*job.md, job.ns, name, d, o.labels));
    out.push_back({name, d});
  }
  return out;
}

// docker save: manifest.json = [{"Config": path, "RepoTags": [..], "Layers": [paths]}].
struct DockerImage {
  std::string config;
  std::vector<std::string> layers;
  std::vector<std::string> tags;
};

using nlohmann::json;

// The string `j` (nullptr: absent) of manifest.json at `where` ("manifest.json[0].Config").
absl::StatusOr<std::string> StringAt(const json* j, const std::string& where) {
  if (j == nullptr || !j->is_string()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, j == nullptr ? ": missing" : ": not a string"));
  }
  return j->get<std::string>();
}

const json* Member(const json& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// The strings of array `j` (nullptr or null: none when `optional`).
absl::StatusOr<std::vector<std::string>> StringsAt(const json* j, const std::string& where,
                                                   bool optional) {
  std::vector<std::string> out;
  if (optional && (j == nullptr || j->is_null())) return out;
  if (j == nullptr || !j->is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(where, j == nullptr ? ": missing" : ": not an array"));
  }
  for (size_t i = 0; i < j->size(); ++i) {
    BERTH_ASSIGN_OR_RETURN(std::string s, StringAt(&(*j)[i], absl::StrCat(where, "[", i, "]")));
    out.push_back(std::move(s));
  }
  return out;
}

// manifest.json is outside input: every member's type is checked here, since nlohmann's
// at() / get() throw on another type. Errors name the member.
absl::StatusOr<std::vector<DockerImage>> ParseDockerManifest(const std::string& text) {
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return absl::InvalidArgumentError("manifest.json: invalid JSON");
  if (!doc.is_array()) return absl::InvalidArgumentError("manifest.json: not an array");
  std::vector<DockerImage> out;
  for (size_t i = 0; i < doc.size(); ++i) {
    const json& img = doc[i];
    std::string where = absl::StrCat("manifest.json[", i, "]");
    if (!img.is_object()) return absl::InvalidArgumentError(absl::StrCat(where, ": not an object"));
    DockerImage d;
    BERTH_ASSIGN_OR_RETURN(d.config, StringAt(Member(img, "Config"), where + ".Config"));
    BERTH_ASSIGN_OR_RETURN(d.layers, StringsAt(Member(img, "Layers"), where + ".Layers", false));
    BERTH_ASSIGN_OR_RETURN(d.tags, StringsAt(Member(img, "RepoTags"), where + ".RepoTags", true));
    out.push_back(std::move(d));
  }
  return out;
}

// Each image gets a Docker schema 2 manifest over the archive's config and (uncompressed) layers.
absl::StatusOr<std::vector<PullResult>> ImportDocker(PullJob& job, const Contents& c,
                                                     const ImportOptions& o) {
  BERTH_ASSIGN_OR_RETURN(std::vector<DockerImage> images,
                         ParseDockerManifest(c.meta.at("manifest.json")));
  auto file = [&](const std::string& p) -> absl::StatusOr<Stored> {
    auto it = c.files.find(p);
    if (it == c.files.end()) return absl::NotFoundError(p + " is not in the archive");
    return it->second;
  };
  std::vector<PullResult> out;
  for (const DockerImage& img : images) {
    BERTH_ASSIGN_OR_RETURN(Stored cfg, file(img.config));
    json man = {
        {"schemaVersion", 2},
        {"mediaType", kDockerManifest},
        {"config", {{"mediaType", kDockerConfig}, {"digest", cfg.digest}, {"size", cfg.size}}},
        {"layers", json::array()}};
    for (const std::string& l : img.layers) {
      BERTH_ASSIGN_OR_RETURN(Stored layer, file(l));
      man["layers"].push_back({{"mediaType", "application/vnd.docker.image.rootfs.diff.tar"},
                               {"digest", layer.digest},
                               {"size", layer.size}});
    }
    std::string bytes = man.dump();  // digests and sizes only: dump() cannot meet bad UTF-8
    Descriptor d{kDockerManifest,
                 content::Digest::Sha256Of(bytes).str(),
                 static_cast<int64_t>(bytes.size()),
                 std::nullopt,
                 {}};
    BERTH_RETURN_IF_ERROR(job.HandleManifest(d, bytes, o.unpack));
    std::vector<std::string> names = img.tags;
    if (names.empty() && !o.base_name.empty()) names.push_back(o.base_name + "@" + d.digest);
    for (const std::string& n : names) {
      BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(n));
      BERTH_RETURN_IF_ERROR(internal::PutImage(*job.md, job.ns, ref.String(), d, o.labels));
      out.push_back({ref.String(), d});
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<std::vector<PullResult>> Puller::Import(const std::string& ns,
                                                       const ImportOptions& o,
                                                       const ProgressFn& progress_fn) {
  if (o.path.empty()) return absl::InvalidArgumentError("import: a path is required");
  internal::ProgressTracker progress(&progress_fn);
  PullJob job;
  job.md = md_;
  job.config = &config_;
  job.ns = ns;
  job.snapshotter = o.snapshotter.empty() ? config_.default_snapshotter : o.snapshotter;
  job.unpack = o.unpack;
  job.progress = &progress;
  job.snapshots = std::make_unique<snapshotter::LeasedSnapshots>(md_);
  if (o.unpack) BERTH_RETURN_IF_ERROR(job.snapshots->Get(job.snapshotter).status());
  BERTH_ASSIGN_OR_RETURN(
      leases::Lease lease,
      md_->leases->Create(
          ns, "",
          {{leases::kExpireLabel, absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(24),
                                                   absl::UTCTimeZone())}}));
  job.lease = lease.id;
  auto run = [&]() -> absl::StatusOr<std::vector<PullResult>> {
    BERTH_ASSIGN_OR_RETURN(Contents c, ReadArchive(job, o.path));
    std::vector<PullResult> out;
    if (c.meta.count("index.json")) {
      BERTH_ASSIGN_OR_RETURN(out, ImportOci(job, c, o));
    } else if (c.meta.count("manifest.json")) {
      BERTH_ASSIGN_OR_RETURN(out, ImportDocker(job, c, o));
    } else {
      return absl::InvalidArgumentError(
          "neither an OCI layout (index.json) nor a docker save "
          "archive (manifest.json)");
    }
    if (out.empty()) {
      return absl::InvalidArgumentError("the archive names no image; give a base name");
    }
    return out;
  };
  auto result = run();
  if (!progress.status().ok()) result = Annotate(progress.status(), "import cancelled");
  // The images root what they use; what no image took is left to the collector either way.
  absl::Status released = md_->leases->Delete(ns, lease.id);
  if (!result.ok()) return Annotate(result.status(), absl::StrCat("import ", o.path));
  BERTH_RETURN_IF_ERROR(released);
  return result;
}

}  // namespace berth::transfer
