// The layer half of a pull: parallel downloads into the content store, each teed into a
// LayerStream, and unpacks that apply each layer while it arrives.
//
// On overlayfs every layer is extracted at once into a parentless snapshot of its own (an
// overlay upper does not depend on the layers below it), then moved into its place in the
// chain - one rename onto the fresh, empty upper - as soon as the layer below is committed.
// Anything unusual (another snapshotter, a resumed download, a layer implying directories it
// does not list, whose attributes come from the lowers) takes the in-order path: apply onto
// the prepared snapshot from the stream or from the store.
#include <sys/stat.h>

#include <condition_variable>
#include <cstdio>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/mount/temp_mount.h"
#include "core/log.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/diff/diff.h"
#include "plugins/transfer/layer_stream.h"
#include "plugins/transfer/pull_job.h"

namespace berth::transfer::internal {
namespace {

constexpr size_t kStreamBuffer = size_t{32} << 20;

struct Layer {
  Descriptor desc;
  std::string diff_id;
  std::string chain_id;
  bool need_unpack = false;
  std::shared_ptr<LayerStream> stream;  // null when nobody will unpack it
  std::mutex mu;
  std::condition_variable cv;
  bool downloaded = false;
  absl::Status status;
  // Staged extraction (overlayfs): the parentless snapshot it went into and the result.
  std::thread stager;
  std::string stage_key, stage_dir;
  absl::StatusOr<diff::ApplyResult> staged = absl::UnavailableError("not staged");

  absl::Status WaitDownloaded() {
    std::unique_lock<std::mutex> lock(mu);
    cv.wait(lock, [&] { return downloaded; });
    return status;
  }
};

// Content writer + stream tee + progress, resumable at the writer's offset.
class WriterSink : public BlobSink {
 public:
  WriterSink(content::NamespacedWriter* w, int64_t offset, Layer& l, ProgressTracker* p)
      : w_(w), offset_(offset), l_(l), progress_(p) {}
  int64_t Offset() const override { return offset_; }
  absl::Status Restart() override {
    if (l_.stream) l_.stream->Break();
    BERTH_RETURN_IF_ERROR(w_->Truncate(0));
    offset_ = 0;
    return absl::OkStatus();
  }
  absl::Status Write(absl::string_view data) override {
    BERTH_RETURN_IF_ERROR(w_->Write(offset_, data));
    offset_ += static_cast<int64_t>(data.size());
    if (l_.stream) l_.stream->Push(data);
    progress_->Bytes(l_.desc, "layer", offset_);
    return absl::OkStatus();
  }

 private:
  content::NamespacedWriter* w_;
  int64_t offset_;
  Layer& l_;
  ProgressTracker* progress_;
};

absl::Status Download(PullJob& job, Layer& l) {
  BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(l.desc.digest));
  std::map<std::string, std::string> labels = job.source_labels;
  labels[kUncompressedLabel] = l.diff_id;
  std::string ref = absl::StrCat("layer-", l.desc.digest);
  if (job.client == nullptr) {  // an import: the archive had to bring it
    auto info = job.md->content->GetInfo(job.ns, digest);
    if (!info.ok()) {
      return absl::NotFoundError(absl::StrCat("layer ", l.desc.digest, " is not in the archive"));
    }
    if (info->size != l.desc.size) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the manifest says ", l.desc.size, " bytes, the archive's blob has ", info->size));
    }
    if (l.stream) l.stream->Break();
    job.progress->Set(l.desc, "layer", "exists");
    return job.KeepExisting(digest, labels);
  }
  absl::StatusOr<std::unique_ptr<content::NamespacedWriter>> w;
  // Another pull of the same layer holds the ingest: wait for it to finish or let go.
  for (absl::Time until = absl::Now() + absl::Minutes(10);;) {
    w = job.md->content->OpenWriter(job.ns, ref, l.desc.size, digest, job.lease);
    if (!absl::IsUnavailable(w.status()) || job.Cancelled() || absl::Now() > until) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (absl::IsAlreadyExists(w.status())) {
    if (l.stream) l.stream->Break();
    job.progress->Set(l.desc, "layer", "exists");
    return job.KeepExisting(digest, labels);
  }
  BERTH_RETURN_IF_ERROR(w.status());
  BERTH_ASSIGN_OR_RETURN(content::IngestStatus st, (*w)->Status());
  if (st.offset > 0 && l.stream) l.stream->Break();  // resumed: the stream lacks the start
  job.progress->Set(l.desc, "layer", "downloading", st.offset);
  WriterSink sink(w->get(), st.offset, l, job.progress);
  BERTH_RETURN_IF_ERROR(job.client->FetchBlob(l.desc, sink));
  job.progress->Set(l.desc, "layer", "verifying", sink.Offset());
  auto committed = (*w)->Commit(l.desc.size, digest, labels);
  if (absl::IsAlreadyExists(committed.status())) return job.KeepExisting(digest, labels);
  BERTH_RETURN_IF_ERROR(committed.status());
  if (!l.need_unpack) job.progress->Set(l.desc, "layer", "done");
  return absl::OkStatus();
}

// Where a layer applied onto `mounts` lands without mounting: the bind source or the overlay
// upper ("" for anything else), and the overlay's lower directories, uppermost first.
std::string DirectDir(const std::vector<mount::Mount>& mounts,
                      std::vector<std::string>* lowers = nullptr) {
  if (mounts.size() != 1) return "";
  const mount::Mount& m = mounts[0];
  if (m.type == "bind" || m.type == "rbind") return m.source;
  if (m.type != "overlay") return "";
  std::string upper;
  for (const auto& o : m.options) {
    if (absl::StartsWith(o, "upperdir=")) upper = o.substr(9);
    if (absl::StartsWith(o, "lowerdir=") && lowers) *lowers = absl::StrSplit(o.substr(9), ':');
  }
  return upper;
}

// Applies `reader` onto `mounts` without mounting when the target is a directory we can
// write directly (a bind source, an overlay upper), as the walking differ does.
absl::StatusOr<diff::ApplyResult> ApplyToMounts(const diff::Reader& reader, const Layer& l,
                                                const std::vector<mount::Mount>& mounts) {
  diff::ApplyOptions opts;
  opts.expected_digest = l.desc.digest;
  opts.expected_diff_id = l.diff_id;
  std::string root = DirectDir(mounts, &opts.parents);
  if (mounts.size() == 1 && mounts[0].type == "overlay") opts.mode = diff::Mode::kOverlayUpper;
  absl::StatusOr<diff::ApplyResult> result;
  if (!root.empty()) {
    result = diff::Apply(reader, l.desc.media_type, root, opts);
    if (result.ok()) BERTH_RETURN_IF_ERROR(diff::SyncFilesystem(root));
    return result;
  }
  BERTH_RETURN_IF_ERROR(mount::WithTempMount(mounts, [&](const std::string& dir) {
    result = diff::Apply(reader, l.desc.media_type, dir, opts);
    return result.ok() ? diff::SyncFilesystem(dir) : absl::OkStatus();
  }));
  return result;
}

std::string ExtractKey(const std::string& chain_id, absl::string_view tag = "") {
  // containerd's unpacker key format "extract-<unique> <chainID>".
  static std::atomic<uint64_t> seq{0};
  return absl::StrCat("extract-", absl::ToUnixNanos(absl::Now()), "-", seq.fetch_add(1), tag, " ",
                      chain_id);
}

// The stager thread of layer `l`: extract its stream into a parentless snapshot. The `base`
// layer of the chain is applied as onto a bind mount (whiteouts hide nothing there).
void StageLayer(PullJob& job, Layer& l, bool base) {
  std::string key = ExtractKey(l.chain_id, "-stage");
  auto mounts = job.snapshots->Create(false, job.ns, job.lease, job.snapshotter, key, "", {});
  if (mounts.ok()) l.stage_key = key;
  bool bind = mounts.ok() && mounts->size() == 1 && (*mounts)[0].type != "overlay";
  std::string dir = bind ? DirectDir(*mounts) : "";
  if (dir.empty() || !l.stream->Attach()) {
    l.stream->Detach();
    l.staged = mounts.ok() ? absl::UnavailableError("no staging directory") : mounts.status();
    return;
  }
  l.stage_dir = dir;
  std::shared_ptr<LayerStream> s = l.stream;
  diff::ApplyOptions opts;
  opts.mode = base ? diff::Mode::kPlain : diff::Mode::kOverlayUpper;
  opts.expected_digest = l.desc.digest;
  opts.expected_diff_id = l.diff_id;
  l.staged = diff::Apply([s](char* b, size_t n) { return s->Read(b, n); }, l.desc.media_type,
                         dir, opts);
  l.stream->Detach();  // consumed or failed: an in-order retry reads the store
  if (l.staged.ok()) {  // flush while other layers still arrive; the commit's sync is then cheap
    absl::Status synced = diff::SyncFilesystem(dir);
    if (!synced.ok()) l.staged = synced;
  }
}

// Moves layer `l`'s staged extraction into a snapshot on `parent` and commits it.
absl::Status CommitStaged(PullJob& job, Layer& l, const std::string& parent) {
  BERTH_RETURN_IF_ERROR(l.WaitDownloaded());
  std::string key = ExtractKey(l.chain_id);
  BERTH_ASSIGN_OR_RETURN(auto mounts, job.snapshots->Create(false, job.ns, job.lease,
                                                            job.snapshotter, key, parent, {}));
  BERTH_ASSIGN_OR_RETURN(snapshotter::Snapshotter * sn, job.snapshots->Get(job.snapshotter));
  std::vector<std::string> lowers;
  std::string target = DirectDir(mounts, &lowers);
  absl::Status s = target.empty() ? absl::UnavailableError("snapshot has no upper directory")
                                  : absl::OkStatus();
  // rename(2) replaces the fresh snapshot's empty directory in one step.
  if (s.ok() && ::rename(l.stage_dir.c_str(), target.c_str()) != 0) {
    s = ErrnoStatus(absl::StrCat("move staged layer into ", target));
  }
  if (s.ok()) {
    ::mkdir(l.stage_dir.c_str(), 0755);  // the staging snapshot is removed as it was made
    if (!l.staged->implicit_dirs.empty() && !lowers.empty()) {
      s = diff::InheritImplicitDirs(target, l.staged->implicit_dirs, lowers);
    }
  }
  if (s.ok()) s = diff::SyncFilesystem(target);
  if (s.ok()) s = job.snapshots->Commit(job.ns, job.lease, job.snapshotter, l.chain_id, key, {});
  if (absl::IsAlreadyExists(s)) s = sn->Remove(job.ns, key);  // a concurrent unpack won
  if (!s.ok()) sn->Remove(job.ns, key).IgnoreError();
  return s;
}

diff::Reader StoreReader(std::shared_ptr<content::ReaderAt> r) {
  auto offset = std::make_shared<int64_t>(0);
  return [r, offset](char* buf, size_t len) -> absl::StatusOr<size_t> {
    BERTH_ASSIGN_OR_RETURN(size_t n, r->ReadAt(*offset, absl::Span<char>(buf, len)));
    *offset += static_cast<int64_t>(n);
    return n;
  };
}

// Prepare -> apply (streamed, or from the store) -> verify -> commit as the chain ID.
absl::Status Unpack(PullJob& job, Layer& l, const std::string& parent) {
  BERTH_ASSIGN_OR_RETURN(snapshotter::Snapshotter * sn, job.snapshots->Get(job.snapshotter));
  for (bool from_stream = l.stream && l.stream->Attach();; from_stream = false) {
    // containerd's unpacker key format "extract-<unique> <chainID>".
    std::string key = absl::StrCat("extract-", absl::ToUnixNanos(absl::Now()), " ", l.chain_id);
    BERTH_ASSIGN_OR_RETURN(auto mounts, job.snapshots->Create(false, job.ns, job.lease,
                                                              job.snapshotter, key, parent, {}));
    job.progress->Set(l.desc, "layer", "unpacking");
    absl::StatusOr<diff::ApplyResult> applied;
    if (from_stream) {
      std::shared_ptr<LayerStream> s = l.stream;
      applied = ApplyToMounts([s](char* b, size_t n) { return s->Read(b, n); }, l, mounts);
      if (!applied.ok()) l.stream->Detach();
    } else {
      absl::Status dl = l.WaitDownloaded();
      BERTH_ASSIGN_OR_RETURN(content::Digest digest, content::Digest::Parse(l.desc.digest));
      auto reader = dl.ok() ? job.md->content->OpenReader(job.ns, digest)
                            : absl::StatusOr<std::unique_ptr<content::ReaderAt>>(dl);
      applied = reader.ok() ? ApplyToMounts(StoreReader(std::move(*reader)), l, mounts)
                            : absl::StatusOr<diff::ApplyResult>(reader.status());
    }
    // Committed only once the blob itself is verified and stored too.
    absl::Status s = applied.status();
    if (s.ok()) s = l.WaitDownloaded();
    if (s.ok()) {
      s = job.snapshots->Commit(job.ns, job.lease, job.snapshotter, l.chain_id, key, {});
      if (absl::IsAlreadyExists(s)) s = sn->Remove(job.ns, key);  // a concurrent unpack won
      if (s.ok()) {
        job.progress->Set(l.desc, "layer", "done");
        return absl::OkStatus();
      }
    }
    // Never leave a half-applied snapshot behind (the lease would also collect it).
    sn->Remove(job.ns, key).IgnoreError();
    if (!(from_stream && absl::IsAborted(applied.status()))) {
      return Annotate(s, absl::StrCat("unpack layer ", l.desc.digest));
    }
  }
}

}  // namespace

absl::StatusOr<std::vector<std::string>> PullLayers(PullJob& job,
                                                    const std::vector<Descriptor>& descs,
                                                    const std::vector<std::string>& diff_ids,
                                                    bool unpack) {
  std::vector<std::string> chain = ChainIds(diff_ids);
  std::vector<std::unique_ptr<Layer>> layers;
  snapshotter::Snapshotter* sn = nullptr;
  if (unpack) {
    BERTH_ASSIGN_OR_RETURN(sn, job.snapshots->Get(job.snapshotter));
  }
  for (size_t i = 0; i < descs.size(); ++i) {
    auto l = std::make_unique<Layer>();
    l->desc = descs[i];
    l->diff_id = diff_ids[i];
    l->chain_id = chain[i];
    l->need_unpack = unpack && !sn->Stat(job.ns, chain[i]).ok();
    // A stream only for bytes that will arrive: a stored blob is read from the store.
    auto digest = content::Digest::Parse(descs[i].digest);
    bool stored = digest.ok() && job.md->content->GetInfo(job.ns, *digest).ok();
    if (l->need_unpack && !stored) l->stream = std::make_shared<LayerStream>(kStreamBuffer);
    job.progress->Set(l->desc, "layer", "waiting");
    layers.push_back(std::move(l));
  }
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i; (i = next.fetch_add(1)) < layers.size();) {
      Layer& l = *layers[i];
      absl::Status s = job.Cancelled() ? absl::CancelledError("pull cancelled") : Download(job, l);
      if (!s.ok()) {
        job.cancelled = true;  // first failure stops the others (partial ingests are kept)
        job.progress->Set(l.desc, "layer", "failed", -1, std::string(s.message()));
      }
      if (l.stream) l.stream->Finish(s);
      std::lock_guard<std::mutex> lock(l.mu);
      l.downloaded = true;
      l.status = Annotate(s, absl::StrCat("layer ", l.desc.digest));
      l.cv.notify_all();
    }
  };
  // Stagers first: a stream is only kept for a consumer attached before its buffer fills.
  if (unpack && job.snapshotter == "overlayfs") {
    for (size_t i = 0; i < layers.size(); ++i) {
      Layer& l = *layers[i];
      if (l.need_unpack && l.stream) l.stager = std::thread(StageLayer, std::ref(job), std::ref(l), i == 0);
    }
  }
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, job.max_downloads); ++t) threads.emplace_back(worker);
  auto drop_stage = [&](Layer& l) {
    if (!l.stage_key.empty()) sn->Remove(job.ns, l.stage_key).IgnoreError();
    l.stage_key.clear();
  };
  absl::Status unpack_status;
  for (size_t i = 0; i < layers.size() && unpack_status.ok(); ++i) {
    Layer& l = *layers[i];
    if (!l.need_unpack) continue;
    const std::string parent = i == 0 ? "" : chain[i - 1];
    if (l.stager.joinable()) {
      l.stager.join();
      if (l.staged.ok()) {
        job.progress->Set(l.desc, "layer", "unpacking");
        absl::Status committed = CommitStaged(job, l, parent);
        if (!committed.ok()) l.staged = committed;
      }
      drop_stage(l);
      if (l.staged.ok()) {
        job.progress->Set(l.desc, "layer", "done");
        continue;
      }
      if (!job.Cancelled()) {
        log::Get("transfer")->debug("layer {}: unpacking in order: {}", l.desc.digest,
                                    l.staged.status().ToString());
      }
    }
    unpack_status = Unpack(job, l, parent);
  }
  if (!unpack_status.ok()) {
    job.cancelled = true;
    for (auto& l : layers) {
      if (l->stream) l->stream->Detach();
    }
  }
  for (auto& t : threads) t.join();
  for (auto& l : layers) {
    if (l->stager.joinable()) l->stager.join();
    drop_stage(*l);
  }
  // The root cause: a download failure (an unpack reading that layer's stream fails with it
  // too), else the unpack failure, never the cancellations they caused.
  for (auto& l : layers) {
    if (!l->status.ok() && !absl::IsCancelled(l->status)) return l->status;
  }
  if (!unpack_status.ok()) return unpack_status;
  for (auto& l : layers) BERTH_RETURN_IF_ERROR(l->status);
  return chain;
}

}  // namespace berth::transfer::internal
