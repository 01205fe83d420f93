#include "plugins/transfer/puller.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/transfer/pull_job.h"
#include "plugins/transfer/reference.h"

namespace berth::transfer {
namespace internal {

void ProgressTracker::Set(const Descriptor& d, const std::string& kind, const std::string& state,
                          int64_t offset, const std::string& error) {
  std::lock_guard<std::mutex> lock(mu_);
  ProgressItem item{absl::StrCat(kind, "-", d.digest), d.digest, d.media_type, state,
                    offset < 0 ? 0 : offset, d.size, error};
  if (offset < 0 && (state == "done" || state == "exists")) item.offset = d.size;
  EmitLocked(item, true);
}

void ProgressTracker::Bytes(const Descriptor& d, const std::string& kind, int64_t offset,
                            const std::string& state) {
  std::lock_guard<std::mutex> lock(mu_);
  EmitLocked({absl::StrCat(kind, "-", d.digest), d.digest, d.media_type, state, offset, d.size,
              ""},
             false);
}

void ProgressTracker::EmitLocked(const ProgressItem& item, bool force) {
  pending_[item.ref] = item;
  absl::Time now = absl::Now();
  if (!force && now - last_emit_ < absl::Milliseconds(100)) return;
  last_emit_ = now;
  std::vector<ProgressItem> batch;
  for (auto& [ref, it] : pending_) batch.push_back(std::move(it));
  pending_.clear();
  if (fn_ != nullptr && *fn_ && status_.ok()) status_ = (*fn_)(batch);
}

absl::Status ProgressTracker::status() {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

absl::StatusOr<std::string> PullJob::Document(const Descriptor& d, const std::string& kind) {
  BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(d.digest));
  if (auto info = md->content->GetInfo(ns, digest); info.ok()) {
    // Read into memory: no more than a fetch would accept. An import's descriptors come from
    // the archive, and the image records keep them: they must give the blob's real size.
    if (client == nullptr && info->size != d.size) {
      return absl::FailedPreconditionError(absl::StrCat(kind, " ", d.digest,
                                                        ": the descriptor says ", d.size,
                                                        " bytes, the blob has ", info->size));
    }
    if (int64_t max = kind == "config" ? kMaxConfigSize : kMaxManifestSize; info->size > max) {
      return absl::InvalidArgumentError(
          absl::StrCat(kind, " ", d.digest, " is larger than ", max, " bytes"));
    }
    BERTH_ASSIGN_OR_RETURN(auto reader, md->content->OpenReader(ns, digest));
    auto bytes = reader->Read(0, static_cast<size_t>(reader->Size()));
    if (bytes.ok()) {
      progress->Set(d, kind, "exists");
      return bytes;
    }
  }
  if (client == nullptr) {  // an import: everything must already be in the store
    return absl::NotFoundError(absl::StrCat(kind, " ", d.digest, " is not in the archive"));
  }
  progress->Set(d, kind, "downloading");
  if (kind == "config") return client->FetchSmallBlob(d, kMaxConfigSize);
  return client->FetchManifest(d);
}

absl::Status PullJob::KeepExisting(const content::Digest& digest,
                                   const std::map<std::string, std::string>& labels) {
  BERTH_RETURN_IF_ERROR(md->leases->AddResource(ns, lease, {digest.str(), "content"}));
  if (labels.empty()) return absl::OkStatus();
  content::Info info{digest, 0, {}, {}, labels};
  std::vector<std::string> paths;
  for (const auto& [k, v] : labels) paths.push_back("labels." + k);
  return md->content->Update(ns, info, paths).status();
}

absl::Status PullJob::WriteBlob(const Descriptor& d, const std::string& kind,
                                const std::string& bytes,
                                const std::map<std::string, std::string>& labels) {
  BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(d.digest));
  std::map<std::string, std::string> all = source_labels;
  all.insert(labels.begin(), labels.end());
  auto writer = md->content->OpenWriter(ns, absl::StrCat(kind, "-", d.digest),
                                        static_cast<int64_t>(bytes.size()), digest, lease);
  if (absl::IsAlreadyExists(writer.status())) return KeepExisting(digest, all);
  BERTH_RETURN_IF_ERROR(writer.status());
  BERTH_RETURN_IF_ERROR((*writer)->Write(0, bytes));
  auto committed = (*writer)->Commit(static_cast<int64_t>(bytes.size()), digest, all);
  if (absl::IsAlreadyExists(committed.status())) return KeepExisting(digest, all);
  return committed.status();
}

absl::Status PullJob::HandleManifest(const Descriptor& d, const std::string& bytes,
                                     bool unpack_this) {
  BERTH_ASSIGN_OR_RETURN(Manifest m, ParseManifest(bytes));
  BERTH_ASSIGN_OR_RETURN(std::string config_bytes, Document(m.config, "config"));
  BERTH_ASSIGN_OR_RETURN(ImageConfig config, ParseImageConfig(config_bytes));
  if (config.diff_ids.size() != m.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest ", d.digest, " has ", m.layers.size(),
                                                   " layers but its config ",
                                                   config.diff_ids.size(), " diff IDs"));
  }
  BERTH_ASSIGN_OR_RETURN(std::vector<std::string> chain,
                         PullLayers(*this, m.layers, config.diff_ids, unpack_this));
  std::map<std::string, std::string> config_labels;
  if (unpack_this && !chain.empty()) {
    config_labels[absl::StrCat(kRefSnapshot, snapshotter)] = chain.back();
  }
  BERTH_RETURN_IF_ERROR(WriteBlob(m.config, "config", config_bytes, config_labels));
  progress->Set(m.config, "config", "done");
  std::map<std::string, std::string> labels{{absl::StrCat(kRefContent, "config"), m.config.digest}};
  for (size_t i = 0; i < m.layers.size(); ++i) {
    labels[absl::StrCat(kRefContent, "l.", i)] = m.layers[i].digest;
  }
  BERTH_RETURN_IF_ERROR(WriteBlob(d, "manifest", bytes, labels));
  progress->Set(d, "manifest", "done");
  return absl::OkStatus();
}

absl::Status PutImage(metadata::Metadata& md, const std::string& ns, const std::string& name,
                      const Descriptor& target, const std::map<std::string, std::string>& labels) {
  images::Image image{name, labels, {target.media_type, target.digest, target.size, {}}, {}, {}};
  auto created = md.images->Create(ns, image);
  if (absl::IsAlreadyExists(created.status())) {
    created = md.images->Update(ns, image, {"target", "labels"});
  }
  return created.status();
}

}  // namespace internal

namespace {

std::string ExpireIn24h() {
  return absl::FormatTime(absl::RFC3339_sec, absl::Now() + absl::Hours(24), absl::UTCTimeZone());
}

}  // namespace

absl::StatusOr<PullResult> Puller::Pull(const std::string& ns, const PullOptions& opts,
                                        const ProgressFn& progress_fn) {
  BERTH_ASSIGN_OR_RETURN(Reference ref, ParseReference(opts.reference));
  HostOptions host_opts{opts.hosts_dir.empty() ? config_.config_path : opts.hosts_dir,
                        opts.plain_http, opts.skip_verify};
  BERTH_ASSIGN_OR_RETURN(std::vector<RegistryHost> hosts, ConfigureHosts(ref.host, host_opts));
  Credentials creds = opts.credentials;
  if (creds.empty()) {
    BERTH_ASSIGN_OR_RETURN(creds, DockerConfigCredentials(ref.host));
  }

  internal::ProgressTracker progress(&progress_fn);
  internal::PullJob job;
  job.md = md_;
  job.config = &config_;
  job.ns = ns;
  job.snapshotter = opts.snapshotter.empty() ? config_.default_snapshotter : opts.snapshotter;
  job.unpack = opts.unpack;
  job.max_downloads =
      opts.max_concurrent_downloads > 0 ? opts.max_concurrent_downloads : config_.max_concurrent_downloads;
  job.progress = &progress;
  job.snapshots = std::make_unique<snapshotter::LeasedSnapshots>(md_);
  job.source_labels[absl::StrCat("containerd.io/distribution.source.", ref.host)] = ref.repository;
  if (job.unpack) BERTH_RETURN_IF_ERROR(job.snapshots->Get(job.snapshotter).status());
  ClientOptions copts{hosts, creds, config_.low_speed_seconds, config_.max_attempts,
                      absl::Milliseconds(500), [&job, &progress] {
                        if (!progress.status().ok()) job.cancelled = true;
                        return job.cancelled.load();
                      }};
  job.client = std::make_unique<RegistryClient>(ref, std::move(copts));

  BERTH_ASSIGN_OR_RETURN(leases::Lease lease,
                         md_->leases->Create(ns, "", {{leases::kExpireLabel, ExpireIn24h()},
                                                      {"berth.pull", ref.String()}}));
  job.lease = lease.id;
  auto run = [&]() -> absl::StatusOr<PullResult> {
    Descriptor root{"", ref.digest, 0, std::nullopt, {}};
    progress.Set({"", ref.String(), 0, std::nullopt, {}}, "resolve", "resolving");
    BERTH_ASSIGN_OR_RETURN(root, job.client->Resolve());
    progress.Set({"", ref.String(), 0, std::nullopt, {}}, "resolve", "done");
    std::string kind = IsIndexType(root.media_type) ? "index" : "manifest";
    BERTH_ASSIGN_OR_RETURN(std::string bytes, job.Document(root, kind));
    if (kind == "manifest") {
      BERTH_RETURN_IF_ERROR(job.HandleManifest(root, bytes, opts.unpack));
    } else {
      BERTH_ASSIGN_OR_RETURN(std::vector<Descriptor> children, ParseIndex(bytes));
      std::vector<Platform> wanted = opts.platforms;
      if (wanted.empty()) wanted.push_back(DefaultPlatform());
      BERTH_ASSIGN_OR_RETURN(std::vector<Descriptor> chosen,
                             SelectManifests(children, wanted, root.digest));
      std::map<std::string, std::string> labels;
      for (size_t i = 0; i < chosen.size(); ++i) {
        BERTH_ASSIGN_OR_RETURN(std::string mb, job.Document(chosen[i], "manifest"));
        // Unpack the manifest for this machine's platform (the first wanted one).
        BERTH_RETURN_IF_ERROR(job.HandleManifest(chosen[i], mb, opts.unpack && i == 0));
        labels[absl::StrCat(internal::kRefContent, "m.", i)] = chosen[i].digest;
      }
      BERTH_RETURN_IF_ERROR(job.WriteBlob(root, "index", bytes, labels));
      progress.Set(root, "index", "done");
    }
    BERTH_RETURN_IF_ERROR(internal::PutImage(*md_, ns, ref.String(), root, opts.labels));
    return PullResult{ref.String(), root};
  };
  absl::StatusOr<PullResult> result = run();
  if (!progress.status().ok()) result = Annotate(progress.status(), "pull cancelled");
  if (result.ok()) {
    // The image now roots everything: the lease has done its job.
    BERTH_RETURN_IF_ERROR(md_->leases->Delete(ns, lease.id));
    return result;
  }
  // Keep the lease (it expires in 24 h) so the partial ingests can be resumed.
  return Annotate(result.status(), absl::StrCat("pull ", ref.String()));
}

}  // namespace berth::transfer
