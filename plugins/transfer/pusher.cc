// Puller::Push: plan the blobs and manifests of a local image, then send them to a registry
// (blobs in parallel, manifests children-first, the root last under the tag).
#include <algorithm>
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/transfer/pull_job.h"
#include "plugins/transfer/puller.h"
#include "plugins/transfer/reference.h"

namespace berth::transfer {
namespace {

constexpr char kSourceLabel[] = "containerd.io/distribution.source.";

struct Blob {
  Descriptor desc;
  std::string kind;        // "layer" or "config"
  std::string mount_from;  // another repository of the target registry that has it
};

struct Document {
  Descriptor desc;
  std::string kind;  // "manifest" or "index"
  std::string bytes;
};

// What to push, found from the store before anything is sent.
struct PushPlan {
  metadata::Metadata* md;
  const std::string& ns;
  const std::vector<Platform>& platforms;
  const Reference& remote;
  std::vector<Blob> blobs;       // each once
  std::vector<Document> docs;    // children before parents; the root last
  std::set<std::string> seen;

  absl::StatusOr<content::Info> Info(const std::string& digest) {
    BERTH_ASSIGN_OR_RETURN(content::Digest d, content::Digest::Parse(digest));
    return md->content->GetInfo(ns, d);
  }
  bool Present(const std::string& digest) { return Info(digest).ok(); }

  absl::Status Missing(const std::string& what, const std::string& digest, const Descriptor& of) {
    return absl::NotFoundError(absl::StrCat(what, " ", digest, " of ", of.digest,
                                            " is not in the content store; pull the image "
                                            "(for that platform) again before pushing it"));
  }

  absl::StatusOr<std::string> Read(const Descriptor& d) {
    BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(d.digest));
    BERTH_ASSIGN_OR_RETURN(auto r, md->content->OpenReader(ns, digest));
    if (r->Size() > kMaxManifestSize) return absl::ResourceExhaustedError(d.digest + " too large");
    return r->Read(0, static_cast<size_t>(r->Size()));
  }

  // The repository of the target registry a blob came from (its distribution source label),
  // when that is not the one we push to.
  std::string MountSource(const content::Info& info) {
    auto it = info.labels.find(absl::StrCat(kSourceLabel, remote.host));
    if (it == info.labels.end()) return "";
    for (absl::string_view repo : absl::StrSplit(it->second, ',')) {
      if (!repo.empty() && repo != remote.repository) return std::string(repo);
    }
    return "";
  }

  absl::Status AddBlob(const Descriptor& d, const std::string& kind, const Descriptor& of) {
    if (!seen.insert(d.digest).second) return absl::OkStatus();
    auto info = Info(d.digest);
    if (!info.ok()) return Missing(kind, d.digest, of);
    blobs.push_back({d, kind, MountSource(*info)});
    return absl::OkStatus();
  }

  absl::Status AddDocument(const Descriptor& d) {
    if (!seen.insert(d.digest).second) return absl::OkStatus();
    BERTH_ASSIGN_OR_RETURN(std::string bytes, Read(d));
    if (IsIndexType(d.media_type)) {
      BERTH_ASSIGN_OR_RETURN(std::vector<Descriptor> children, ParseIndex(bytes));
      size_t pushed = 0;
      for (const Descriptor& c : children) {
        bool wanted = platforms.empty() || !c.platform ||
                      std::any_of(platforms.begin(), platforms.end(),
                                  [&](const Platform& p) { return Matches(p, *c.platform); });
        if (!wanted) continue;
        if (!Present(c.digest)) {
          if (platforms.empty()) continue;  // never pulled: push what we have
          return Missing("manifest", c.digest, d);
        }
        BERTH_RETURN_IF_ERROR(AddDocument(c));
        ++pushed;
      }
      if (pushed == 0) {
        return absl::NotFoundError(absl::StrCat("index ", d.digest, ": none of its manifests",
                                                platforms.empty() ? "" : " for the platforms",
                                                " is in the content store"));
      }
      docs.push_back({d, "index", std::move(bytes)});
      return absl::OkStatus();
    }
    if (!IsManifestType(d.media_type)) {
      return absl::InvalidArgumentError(
          absl::StrCat(d.digest, ": cannot push media type \"", d.media_type, "\""));
    }
    BERTH_ASSIGN_OR_RETURN(Manifest m, ParseManifest(bytes));
    for (const Descriptor& l : m.layers) BERTH_RETURN_IF_ERROR(AddBlob(l, "layer", d));
    BERTH_RETURN_IF_ERROR(AddBlob(m.config, "config", d));
    docs.push_back({d, "manifest", std::move(bytes)});
    return absl::OkStatus();
  }
};

// One blob: skipped when there, mounted when possible, else uploaded from the store.
absl::Status PushOneBlob(metadata::Metadata& md, const std::string& ns, RegistryClient& client,
                         internal::ProgressTracker& progress, const Blob& b) {
  progress.Set(b.desc, b.kind, "checking");
  BERTH_ASSIGN_OR_RETURN(bool exists, client.BlobExists(b.desc));
  if (exists) {
    progress.Set(b.desc, b.kind, "exists");
    return absl::OkStatus();
  }
  BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(b.desc.digest));
  BERTH_ASSIGN_OR_RETURN(std::unique_ptr<content::ReaderAt> reader,
                         md.content->OpenReader(ns, digest));
  if (reader->Size() != b.desc.size) {
    return absl::DataLossError(absl::StrCat(b.desc.digest, " is ", reader->Size(),
                                            " bytes in the store, the manifest says ",
                                            b.desc.size));
  }
  progress.Set(b.desc, b.kind, "uploading", 0);
  auto read = [&](int64_t offset, char* buf, size_t len) {
    return reader->ReadAt(offset, absl::Span<char>(buf, len));
  };
  auto on_bytes = [&](int64_t sent) { progress.Bytes(b.desc, b.kind, sent, "uploading"); };
  BERTH_ASSIGN_OR_RETURN(bool mounted, client.PushBlob(b.desc, read, b.mount_from, on_bytes));
  progress.Set(b.desc, b.kind, mounted ? "mounted" : "done");
  return absl::OkStatus();
}

// Runs PushOneBlob over `blobs` with `workers` threads; the first error stops the others.
absl::Status PushBlobs(metadata::Metadata& md, const std::string& ns, RegistryClient& client,
                       internal::ProgressTracker& progress, const std::vector<Blob>& blobs,
                       int workers, std::atomic<bool>& cancelled) {
  std::atomic<size_t> next{0};
  std::mutex mu;
  absl::Status first;
  auto work = [&] {
    for (size_t i; !cancelled && (i = next++) < blobs.size();) {
      absl::Status s = PushOneBlob(md, ns, client, progress, blobs[i]);
      if (s.ok()) continue;
      progress.Set(blobs[i].desc, blobs[i].kind, "failed", 0, std::string(s.message()));
      std::lock_guard<std::mutex> lock(mu);
      if (first.ok()) first = s;
      cancelled = true;
    }
  };
  size_t n = std::min<size_t>(static_cast<size_t>(std::max(workers, 1)), blobs.size());
  std::vector<std::thread> threads;
  for (size_t i = 1; i < n; ++i) threads.emplace_back(work);
  work();
  for (auto& t : threads) t.join();
  return first;
}

absl::StatusOr<RegistryHost> PushHost(const Reference& ref, const HostOptions& opts) {
  BERTH_ASSIGN_OR_RETURN(std::vector<RegistryHost> hosts, ConfigureHosts(ref.host, opts));
  for (const RegistryHost& h : hosts) {
    if (h.capabilities & kCapPush) return h;
  }
  return absl::FailedPreconditionError(absl::StrCat(
      "no host configured for ", ref.host, " has the \"push\" capability (hosts.toml in ",
      opts.hosts_dir, ")"));
}

}  // namespace

absl::StatusOr<PullResult> Puller::Push(const std::string& ns, const PushOptions& opts,
                                        const ProgressFn& progress_fn) {
  if (opts.image.empty()) return absl::InvalidArgumentError("push: an image name is required");
  auto fail = [&](const absl::Status& s) { return Annotate(s, absl::StrCat("push ", opts.image)); };
  absl::StatusOr<images::Image> img = md_->images->Get(ns, opts.image);
  if (!img.ok()) return fail(img.status());
  absl::StatusOr<Reference> remote = ParseReference(opts.remote.empty() ? opts.image : opts.remote);
  if (!remote.ok()) return fail(remote.status());
  Descriptor root{img->target.media_type, img->target.digest, img->target.size, std::nullopt, {}};
  if (!remote->digest.empty() && remote->digest != root.digest) {
    return fail(absl::InvalidArgumentError(absl::StrCat(
        "the remote reference names digest ", remote->digest, " but the image is ", root.digest)));
  }

  PushPlan plan{md_.get(), ns, opts.platforms, *remote, {}, {}, {}};
  if (absl::Status s = plan.AddDocument(root); !s.ok()) return fail(s);

  HostOptions host_opts{opts.hosts_dir.empty() ? config_.config_path : opts.hosts_dir,
                        opts.plain_http, opts.skip_verify};
  absl::StatusOr<RegistryHost> host = PushHost(*remote, host_opts);
  if (!host.ok()) return fail(host.status());
  Credentials creds = opts.credentials;
  if (creds.empty()) {
    absl::StatusOr<Credentials> c = DockerConfigCredentials(remote->host);
    if (!c.ok()) return fail(c.status());
    creds = *c;
  }
  internal::ProgressTracker progress(&progress_fn);
  std::atomic<bool> cancelled{false};
  ClientOptions copts{{*host}, creds, config_.low_speed_seconds, config_.max_attempts,
                      absl::Milliseconds(500), [&cancelled, &progress] {
                        if (!progress.status().ok()) cancelled = true;
                        return cancelled.load();
                      }};
  copts.push = true;
  for (const Blob& b : plan.blobs) {
    if (!b.mount_from.empty()) copts.extra_scopes.push_back(PullScope(b.mount_from));
  }
  RegistryClient client(*remote, std::move(copts));

  int workers = opts.max_concurrent_uploads > 0 ? opts.max_concurrent_uploads
                                                : config_.max_concurrent_uploads;
  absl::Status s = PushBlobs(*md_, ns, client, progress, plan.blobs, workers, cancelled);
  for (size_t i = 0; s.ok() && i < plan.docs.size(); ++i) {
    const Document& d = plan.docs[i];
    // Children by digest; the root under the remote's tag (or its digest when it has none).
    bool is_root = i + 1 == plan.docs.size();
    std::string object = is_root && !remote->tag.empty() ? remote->tag : d.desc.digest;
    progress.Set(d.desc, d.kind, "uploading", 0);
    s = client.PushManifest(d.desc, d.bytes, object);
    progress.Set(d.desc, d.kind, s.ok() ? "done" : "failed", -1,
                 s.ok() ? "" : std::string(s.message()));
  }
  if (!progress.status().ok()) s = Annotate(progress.status(), "push cancelled");
  if (!s.ok()) return Annotate(s, absl::StrCat("push ", opts.image, " to ", remote->String()));
  return PullResult{remote->String(), root};
}

}  // namespace berth::transfer
