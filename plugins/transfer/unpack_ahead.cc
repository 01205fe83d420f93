#include "plugins/transfer/unpack_ahead.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/mount/writable_dir.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/transfer/manifest.h"

namespace berth::transfer {
namespace {

constexpr char kLayerChildLabel[] = "containerd.io/gc.ref.content.l.";
constexpr char kConfigChildLabel[] = "containerd.io/gc.ref.content.config";
constexpr char kAppliedMediaType[] = "application/vnd.oci.image.layer.v1.tar";

std::string KeyOf(const std::string& ns, const std::string& digest) {
  return absl::StrCat(ns, "\n", digest);
}

bool IsLayerType(const std::string& media_type) {
  bool layer = absl::StartsWith(media_type, "application/vnd.oci.image.layer.") ||
               absl::StartsWith(media_type, "application/vnd.docker.image.rootfs.");
  return layer && diff::CompressionForMediaType(media_type).ok();
}

absl::StatusOr<std::string> ReadSmall(content::NamespacedStore& store, const std::string& ns,
                                      const std::string& digest, int64_t max) {
  BERTH_ASSIGN_OR_RETURN(content::Digest d, content::Digest::Parse(digest));
  BERTH_ASSIGN_OR_RETURN(auto reader, store.OpenReader(ns, d));
  if (reader->Size() > max) return absl::OutOfRangeError("too large");
  BERTH_ASSIGN_OR_RETURN(std::string out, reader->Read(0, static_cast<size_t>(reader->Size())));
  if (static_cast<int64_t>(out.size()) != reader->Size()) return absl::DataLossError("short blob");
  return out;
}

diff::Mode ModeOf(const mount::WritableDir& target) {
  return target.overlay_upper ? diff::Mode::kOverlayUpper : diff::Mode::kPlain;
}

// A staged tree that did not list "./" must look like the target root did before the move:
// its owner and mode, and the times an Apply in place leaves (kept for kPlain, "now" for an
// overlay upper, whose mtime the new children bump).
absl::Status AdoptRootAttributes(const std::string& stage, const std::string& target,
                                 diff::Mode mode) {
  struct stat st;
  if (::lstat(target.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", target));
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError("target is not a directory");
  if (::lchown(stage.c_str(), st.st_uid, st.st_gid) != 0 ||
      ::chmod(stage.c_str(), st.st_mode & 07777) != 0) {
    return ErrnoStatus(absl::StrCat("set attributes of ", stage));
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  if (mode == diff::Mode::kOverlayUpper) times[0].tv_nsec = times[1].tv_nsec = UTIME_NOW;
  if (::utimensat(AT_FDCWD, stage.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(absl::StrCat("set times of ", stage));
  }
  return absl::OkStatus();
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", dir));
  int rc = ::fsync(fd);
  ::close(fd);
  return rc == 0 ? absl::OkStatus() : ErrnoStatus(absl::StrCat("fsync ", dir));
}

}  // namespace

struct UnpackAhead::Stage {
  enum class State { kQueued, kRunning, kReady, kFailed };
  std::string ns, digest, media_type;
  size_t index = 0;
  diff::Mode mode = diff::Mode::kPlain;
  State state = State::kQueued;
  bool dropped = false;  // blob deleted while running: trash the tree when done
  std::string dir;
  absl::StatusOr<diff::ApplyResult> result = absl::UnavailableError("not staged");
  absl::Time done_at;
};

UnpackAhead::UnpackAhead(std::shared_ptr<metadata::Metadata> md, UnpackAheadConfig config)
    : md_(std::move(md)), config_(std::move(config)) {}

absl::StatusOr<std::shared_ptr<UnpackAhead>> UnpackAhead::Create(
    std::shared_ptr<metadata::Metadata> md, UnpackAheadConfig config) {
  if (config.stage_root.empty() || config.snapshotter_root.empty()) {
    return absl::InvalidArgumentError("unpack ahead needs a stage root and a snapshotter root");
  }
  // Leftovers of a previous run (a crash mid-extraction) are never reused.
  BERTH_RETURN_IF_ERROR(fs::RemoveAll(config.stage_root));
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(config.stage_root, 0700));
  struct stat a, b;
  if (::stat(config.stage_root.c_str(), &a) != 0 ||
      ::stat(config.snapshotter_root.c_str(), &b) != 0 || a.st_dev != b.st_dev) {
    return absl::FailedPreconditionError(absl::StrCat(
        "stage root ", config.stage_root, " is not on the filesystem of ", config.snapshotter_root));
  }
  std::shared_ptr<UnpackAhead> self(new UnpackAhead(std::move(md), std::move(config)));
  for (int i = 0; i < std::max(1, self->config_.max_concurrent); ++i) {
    self->workers_.emplace_back([p = self.get()] { p->Worker(); });
  }
  return self;
}

std::shared_ptr<UnpackAhead> UnpackAhead::Disabled() {
  UnpackAheadConfig config;
  config.enabled = false;
  return std::shared_ptr<UnpackAhead>(new UnpackAhead(nullptr, std::move(config)));
}

UnpackAhead::~UnpackAhead() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  // Staged trees left now are removed at the next start (a large tree takes a while).
}

void UnpackAhead::BlobCommitted(const std::string& ns, const std::string& digest) {
  if (!config_.enabled) return;
  std::optional<LayerRef> ref;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = layers_.find(KeyOf(ns, digest));
    if (it != layers_.end()) ref = it->second;
  }
  if (ref) {
    Enqueue(ns, digest, *ref);
  } else {
    Learn(ns, digest, /*from_labels=*/false);
  }
}

void UnpackAhead::LabelsUpdated(const std::string& ns, const std::string& digest,
                                const std::map<std::string, std::string>& labels) {
  if (!config_.enabled) return;
  for (const auto& [k, v] : labels) {
    if (absl::StartsWith(k, kLayerChildLabel)) return Learn(ns, digest, /*from_labels=*/true);
  }
}

void UnpackAhead::Learn(const std::string& ns, const std::string& digest, bool from_labels) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (manifests_.count(KeyOf(ns, digest))) return;
  }
  auto body = ReadSmall(*md_->content, ns, digest, kMaxManifestSize);
  if (!body.ok() || body->empty() || (*body)[0] != '{') return;
  auto type = ManifestMediaType(*body, "");
  if (!type.ok() || !IsManifestType(*type)) return;
  auto manifest = ParseManifest(*body);
  if (!manifest.ok()) return;
  std::vector<std::pair<std::string, LayerRef>> present;
  {
    std::lock_guard<std::mutex> lock(mu_);
    manifests_[KeyOf(ns, digest)] = absl::Now();
    for (size_t i = 0; i < manifest->layers.size(); ++i) {
      const Descriptor& l = manifest->layers[i];
      if (!IsLayerType(l.media_type)) continue;
      LayerRef ref{l.media_type, i, absl::Now()};
      // The first position a layer is known at decides its mode (see TryApply).
      auto [it, fresh] = layers_.emplace(KeyOf(ns, l.digest), ref);
      if (fresh) present.emplace_back(l.digest, ref);
    }
  }
  log::Get("unpack-ahead")->debug("manifest {} ({}): {} layers known", digest,
                                  from_labels ? "labelled" : "committed", manifest->layers.size());
  // Layers already in the store never see a commit: stage those an unpack will still need.
  for (const auto& [layer, ref] : present) {
    auto d = content::Digest::Parse(layer);
    if (!d.ok() || !md_->content->GetInfo(ns, *d).ok()) continue;
    if (ChainMissing(ns, manifest->config.digest, ref.index)) Enqueue(ns, layer, ref);
  }
}

bool UnpackAhead::ChainMissing(const std::string& ns, const std::string& config_digest,
                               size_t index) {
  auto body = ReadSmall(*md_->content, ns, config_digest, kMaxConfigSize);
  if (!body.ok()) return false;  // unknown: do not spend an extraction on it
  auto config = ParseImageConfig(*body);
  if (!config.ok() || index >= config->diff_ids.size()) return false;
  std::vector<std::string> chain = ChainIds(config->diff_ids);
  auto sn = md_->snapshotters.find(config_.snapshotter);
  if (sn == md_->snapshotters.end()) return false;
  return absl::IsNotFound(sn->second->Stat(ns, chain[index]).status());
}

void UnpackAhead::Enqueue(const std::string& ns, const std::string& digest, const LayerRef& ref) {
  std::lock_guard<std::mutex> lock(mu_);
  if (stop_ || stages_.count(KeyOf(ns, digest))) return;
  if (staged_bytes_ >= config_.max_staged_bytes) {
    log::Get("unpack-ahead")->debug("layer {}: not staged, {} bytes staged already", digest,
                                    staged_bytes_);
    return;
  }
  auto stage = std::make_shared<Stage>();
  stage->ns = ns;
  stage->digest = digest;
  stage->media_type = ref.media_type;
  stage->index = ref.index;
  // The base layer is applied onto an empty bind (kPlain); the others onto an overlay upper.
  stage->mode = ref.index == 0 ? diff::Mode::kPlain : diff::Mode::kOverlayUpper;
  stages_[KeyOf(ns, digest)] = std::move(stage);
  cv_.notify_all();
}

void UnpackAhead::Worker() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    Reap(absl::Now());
    // Lowest layer position first: Diff.Apply comes in chain order.
    std::shared_ptr<Stage> next;
    for (auto& [key, s] : stages_) {
      if (s->state == Stage::State::kQueued && (!next || s->index < next->index)) next = s;
    }
    if (!next) {
      if (!trash_.empty()) {
        std::string dir = std::move(trash_.back());
        trash_.pop_back();
        lock.unlock();
        fs::RemoveAll(dir).IgnoreError();
        lock.lock();
        continue;
      }
      cv_.wait_for(lock, std::chrono::seconds(30));
      continue;
    }
    next->state = Stage::State::kRunning;
    next->dir = absl::StrCat(config_.stage_root, "/", ++seq_);
    lock.unlock();
    Extract(*next);
    lock.lock();
    next->done_at = absl::Now();
    next->state = next->result.ok() ? Stage::State::kReady : Stage::State::kFailed;
    if (next->result.ok()) {
      ++stats_.staged;
      staged_bytes_ += next->result->uncompressed_size;
    }
    if (next->dropped || !next->result.ok()) {
      if (!next->result.ok()) {
        log::Get("unpack-ahead")->debug("layer {}: staging failed: {}", next->digest,
                                        next->result.status().ToString());
      }
      if (next->result.ok()) staged_bytes_ -= next->result->uncompressed_size;
      ++stats_.removed;
      Trash(next->dir);
      auto it = stages_.find(KeyOf(next->ns, next->digest));
      if (it != stages_.end() && it->second == next && next->dropped) stages_.erase(it);
    }
    cv_.notify_all();
  }
}

void UnpackAhead::Extract(Stage& stage) {
  if (::mkdir(stage.dir.c_str(), 0755) != 0) {
    stage.result = ErrnoStatus(absl::StrCat("mkdir ", stage.dir));
    return;
  }
  auto digest = content::Digest::Parse(stage.digest);
  if (!digest.ok()) {
    stage.result = digest.status();
    return;
  }
  auto reader = md_->content->OpenReader(stage.ns, *digest);
  if (!reader.ok()) {
    stage.result = reader.status();
    return;
  }
  std::shared_ptr<content::ReaderAt> r = std::move(*reader);
  auto offset = std::make_shared<int64_t>(0);
  diff::ApplyOptions opts;
  opts.mode = stage.mode;
  opts.expected_digest = stage.digest;
  stage.result = diff::Apply(
      [this, r, offset](char* buf, size_t len) -> absl::StatusOr<size_t> {
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (stop_) return absl::CancelledError("daemon stopping");
        }
        BERTH_ASSIGN_OR_RETURN(size_t n, r->ReadAt(*offset, absl::Span<char>(buf, len)));
        *offset += static_cast<int64_t>(n);
        return n;
      },
      stage.media_type, stage.dir, opts);
  // Flushed now, while the client still fetches: the move into place then only needs fsyncs.
  if (stage.result.ok()) {
    absl::Status synced = diff::SyncFilesystem(stage.dir);
    if (!synced.ok()) stage.result = synced;
  }
}

void UnpackAhead::Reap(absl::Time now) {
  for (auto it = stages_.begin(); it != stages_.end();) {
    Stage& s = *it->second;
    bool done = s.state == Stage::State::kReady || s.state == Stage::State::kFailed;
    if (done && now - s.done_at > config_.ttl) {
      if (s.state == Stage::State::kReady) {
        staged_bytes_ -= s.result->uncompressed_size;
        ++stats_.removed;
        Trash(s.dir);
      }
      it = stages_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = layers_.begin(); it != layers_.end();) {
    it = now - it->second.learned_at > config_.ttl && !stages_.count(it->first) ? layers_.erase(it)
                                                                                : std::next(it);
  }
  for (auto it = manifests_.begin(); it != manifests_.end();) {
    it = now - it->second > config_.ttl ? manifests_.erase(it) : std::next(it);
  }
}

void UnpackAhead::Trash(std::string dir) {
  if (!dir.empty()) trash_.push_back(std::move(dir));
  cv_.notify_all();
}

void UnpackAhead::BlobDeleted(const std::string& ns, const std::string& digest) {
  std::lock_guard<std::mutex> lock(mu_);
  std::string key = KeyOf(ns, digest);
  layers_.erase(key);
  manifests_.erase(key);
  auto it = stages_.find(key);
  if (it == stages_.end()) return;
  Stage& s = *it->second;
  switch (s.state) {
    case Stage::State::kRunning:
      s.dropped = true;  // the worker trashes it when the extraction ends
      return;
    case Stage::State::kReady:
      staged_bytes_ -= s.result->uncompressed_size;
      ++stats_.removed;
      Trash(s.dir);
      break;
    default:
      break;
  }
  stages_.erase(it);
}

bool UnpackAhead::IsSnapshotDir(const std::string& dir) const {
  // <snapshotter root>/snapshots/<id>/fs, nothing else (no "..", no other tree).
  std::string prefix = absl::StrCat(config_.snapshotter_root, "/snapshots/");
  if (!absl::StartsWith(dir, prefix) || !absl::EndsWith(dir, "/fs")) return false;
  std::string id = dir.substr(prefix.size(), dir.size() - prefix.size() - 3);
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<absl::StatusOr<images::Descriptor>> UnpackAhead::TryApply(
    const std::string& ns, const images::Descriptor& desc,
    const std::vector<mount::Mount>& mounts) {
  if (!config_.enabled) return std::nullopt;
  std::optional<mount::WritableDir> target = mount::WritableDirOf(mounts);
  bool ours = target && IsSnapshotDir(target->dir) &&
              std::all_of(target->lowers.begin(), target->lowers.end(),
                          [&](const std::string& d) { return IsSnapshotDir(d); });
  std::shared_ptr<Stage> stage;
  {
    std::unique_lock<std::mutex> lock(mu_);
    auto it = stages_.find(KeyOf(ns, desc.digest));
    if (it == stages_.end()) return std::nullopt;
    stage = it->second;
    if (!ours || stage->mode != ModeOf(*target) || stage->media_type != desc.media_type) {
      ++stats_.fallback;  // kept for an Apply it fits
      return std::nullopt;
    }
    if (stage->state == Stage::State::kQueued) {  // not started: applying now is as quick
      stages_.erase(it);
      ++stats_.fallback;
      return std::nullopt;
    }
    cv_.wait(lock, [&] { return stage->state != Stage::State::kRunning || stop_; });
    it = stages_.find(KeyOf(ns, desc.digest));
    if (it == stages_.end() || it->second != stage || stage->state != Stage::State::kReady) {
      ++stats_.fallback;
      return std::nullopt;
    }
    stages_.erase(it);  // used once, whatever happens next
    staged_bytes_ -= stage->result->uncompressed_size;
  }
  const diff::ApplyResult& staged = *stage->result;
  auto fall_back = [&](const absl::Status& why) {
    log::Get("unpack-ahead")->debug("layer {}: normal apply: {}", desc.digest, why.ToString());
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.fallback;
    ++stats_.removed;
    Trash(stage->dir);
    return std::nullopt;
  };
  // As a normal Apply: NotFound unless this namespace holds the blob.
  auto digest = content::Digest::Parse(desc.digest);
  absl::Status held = digest.ok() ? md_->content->GetInfo(ns, *digest).status() : digest.status();
  if (!held.ok()) return fall_back(held);
  if (!staged.root_listed) {
    absl::Status s = AdoptRootAttributes(stage->dir, target->dir, ModeOf(*target));
    if (!s.ok()) return fall_back(s);
  }
  // rename(2) replaces only an empty directory (ENOTEMPTY otherwise): a fresh Active's upper.
  if (::rename(stage->dir.c_str(), target->dir.c_str()) != 0) {
    return fall_back(ErrnoStatus(absl::StrCat("move staged layer onto ", target->dir)));
  }
  absl::Status s;
  if (!staged.implicit_dirs.empty() && !target->lowers.empty()) {
    s = diff::InheritImplicitDirs(target->dir, staged.implicit_dirs, target->lowers);
    if (s.ok()) s = diff::SyncFilesystem(target->dir);
  } else {
    // The tree's data was flushed when it was staged; the rename and the root remain.
    s = FsyncDir(target->dir);
    if (s.ok()) s = FsyncDir(target->dir.substr(0, target->dir.rfind('/')));
  }
  if (!s.ok()) return Annotate(s, absl::StrCat("apply staged layer ", desc.digest));
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++stats_.applied;
  }
  log::Get("unpack-ahead")->info("layer {}: applied from its staged tree ({} bytes)", desc.digest,
                                 staged.uncompressed_size);
  return images::Descriptor{kAppliedMediaType, staged.diff_id, staged.uncompressed_size, {}};
}

UnpackAheadStats UnpackAhead::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void UnpackAhead::WaitIdleForTest() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] {
    for (auto& [k, s] : stages_) {
      if (s->state == Stage::State::kQueued || s->state == Stage::State::kRunning) return false;
    }
    return trash_.empty();
  });
}

}  // namespace berth::transfer
