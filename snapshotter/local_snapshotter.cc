#include "snapshotter/local_snapshotter.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/identifiers.h"
#include "core/log.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "snapshotter/fsutil.h"

namespace berth::snapshotter {
namespace {

int64_t NowNanos() { return absl::ToUnixNanos(absl::Now()); }

absl::Status CheckCreateArgs(const std::string& ns, const std::string& key, const Labels& labels) {
  BERTH_RETURN_IF_ERROR(ValidateNamespaceAndKey(ns, key));
  return ValidateLabels(labels);
}

}  // namespace

const char* KindName(Kind kind) {
  switch (kind) {
    case Kind::kView:
      return "view";
    case Kind::kActive:
      return "active";
    case Kind::kCommitted:
      return "committed";
    default:
      return "unknown";
  }
}

absl::Status ValidateNamespaceAndKey(const std::string& ns, const std::string& key) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", ns));
  if (key.empty()) return absl::InvalidArgumentError("snapshot key must not be empty");
  if (key.find('\0') != std::string::npos) {
    return absl::InvalidArgumentError("snapshot key must not contain NUL");
  }
  return absl::OkStatus();
}

LocalSnapshotter::LocalSnapshotter(std::string root, bool remove_sync)
    : root_(std::move(root)), remove_sync_(remove_sync) {}

LocalSnapshotter::~LocalSnapshotter() = default;

absl::Status LocalSnapshotter::Init() {
  if (root_.empty() || root_[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("snapshotter root must be an absolute path, got \"", root_, "\""));
  }
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(root_, 0700));
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(absl::StrCat(root_, "/snapshots"), 0700));
  (void)fs::SpreadSubdirectories(absl::StrCat(root_, "/snapshots"));  // ext4 only; core/fs.h
  auto store = MetaStore::Open(absl::StrCat(root_, "/metadata.db"));
  if (!store.ok()) return store.status();
  absl::MutexLock lock(&mu_);
  store_ = *std::move(store);
  return absl::OkStatus();
}

std::string LocalSnapshotter::SnapshotDir(uint64_t id) const {
  return absl::StrCat(root_, "/snapshots/", id);
}
std::string LocalSnapshotter::FsDir(uint64_t id) const { return SnapshotDir(id) + "/fs"; }
std::string LocalSnapshotter::WorkDir(uint64_t id) const { return SnapshotDir(id) + "/work"; }

absl::StatusOr<Info> LocalSnapshotter::Stat(const std::string& ns, const std::string& key) {
  BERTH_RETURN_IF_ERROR(ValidateNamespaceAndKey(ns, key));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Record r, store_->Get(ns, key));
  return ToInfo(key, r);
}

absl::StatusOr<Info> LocalSnapshotter::Update(const std::string& ns, const Info& info,
                                              const std::vector<std::string>& fieldpaths) {
  BERTH_RETURN_IF_ERROR(ValidateNamespaceAndKey(ns, info.name));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Record r, store_->Get(ns, info.name));
  Labels labels = r.labels;
  if (fieldpaths.empty()) labels = info.labels;
  for (const auto& path : fieldpaths) {
    if (path == "labels") {
      labels = info.labels;
    } else if (absl::StartsWith(path, "labels.")) {
      std::string k = path.substr(strlen("labels."));
      auto it = info.labels.find(k);
      if (it == info.labels.end()) {
        labels.erase(k);
      } else {
        labels[k] = it->second;
      }
    } else {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot update field \"", path, "\" of snapshot ", info.name));
    }
  }
  BERTH_RETURN_IF_ERROR(ValidateLabels(labels));
  r.labels = std::move(labels);
  r.updated_ns = NowNanos();
  MetaStore::Batch batch;
  batch.Put(ns, info.name, r);
  BERTH_RETURN_IF_ERROR(store_->Write(batch));
  return ToInfo(info.name, r);
}

absl::StatusOr<snapshotter::Usage> LocalSnapshotter::Usage(const std::string& ns,
                                                           const std::string& key) {
  BERTH_RETURN_IF_ERROR(ValidateNamespaceAndKey(ns, key));
  uint64_t id;
  {
    absl::MutexLock lock(&mu_);
    BERTH_ASSIGN_OR_RETURN(Record r, store_->Get(ns, key));
    if (r.kind != Kind::kActive) return r.usage;
    id = r.id;
  }
  // Walking a tree can take long: not under the lock. A concurrent Remove makes this NotFound.
  return DiskUsage(FsDir(id));
}

absl::StatusOr<std::vector<uint64_t>> LocalSnapshotter::ParentIds(const std::string& ns,
                                                                 const std::string& parent) {
  std::vector<uint64_t> ids;
  for (std::string p = parent; !p.empty();) {
    BERTH_ASSIGN_OR_RETURN(Record r, store_->Get(ns, p));
    ids.push_back(r.id);
    p = r.parent;
  }
  return ids;
}

absl::StatusOr<std::vector<mount::Mount>> LocalSnapshotter::Mounts(const std::string& ns,
                                                                   const std::string& key) {
  BERTH_RETURN_IF_ERROR(ValidateNamespaceAndKey(ns, key));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Record r, store_->Get(ns, key));
  if (r.kind != Kind::kActive && r.kind != Kind::kView) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot ", key, " is ", KindName(r.kind), ", not active or a view"));
  }
  BERTH_ASSIGN_OR_RETURN(auto parent_ids, ParentIds(ns, r.parent));
  return MountsFor(r.id, r.kind, parent_ids);
}

absl::StatusOr<uint64_t> LocalSnapshotter::AllocateId() {
  BERTH_ASSIGN_OR_RETURN(uint64_t id, store_->NextId());
  // A crash between mkdir and the record leaves a directory whose id was never recorded as
  // used: skip such ids instead of reusing (and mixing in) their contents.
  struct stat st;
  while (::lstat(SnapshotDir(id).c_str(), &st) == 0) ++id;
  return id;
}

absl::StatusOr<std::vector<mount::Mount>> LocalSnapshotter::Prepare(const std::string& ns,
                                                                    const std::string& key,
                                                                    const std::string& parent,
                                                                    const Labels& labels) {
  return Create(Kind::kActive, ns, key, parent, labels);
}

absl::StatusOr<std::vector<mount::Mount>> LocalSnapshotter::View(const std::string& ns,
                                                                 const std::string& key,
                                                                 const std::string& parent,
                                                                 const Labels& labels) {
  return Create(Kind::kView, ns, key, parent, labels);
}

absl::Status LocalSnapshotter::CheckCreatable(const std::string& ns, const std::string& key,
                                              const std::string& parent) {
  if (auto existing = store_->Get(ns, key); existing.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("snapshot ", key, " already exists"));
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  if (parent.empty()) return absl::OkStatus();
  auto p = store_->Get(ns, parent);
  if (!p.ok()) return Annotate(p.status(), absl::StrCat("parent of snapshot ", key));
  if (p->kind != Kind::kCommitted) {
    return absl::FailedPreconditionError(absl::StrCat("parent ", parent, " of snapshot ", key,
                                                      " is ", KindName(p->kind),
                                                      ", not committed"));
  }
  return absl::OkStatus();
}

// Three steps so that a long Populate (native copies whole trees) does not block every other
// call: reserve an id and its directory under the lock, populate without it, then re-check
// and commit the record under the lock. Cleanup skips ids in creating_.
absl::StatusOr<std::vector<mount::Mount>> LocalSnapshotter::Create(Kind kind,
                                                                   const std::string& ns,
                                                                   const std::string& key,
                                                                   const std::string& parent,
                                                                   const Labels& labels) {
  BERTH_RETURN_IF_ERROR(CheckCreateArgs(ns, key, labels));
  std::vector<uint64_t> parent_ids;
  uint64_t id = 0;
  {
    absl::MutexLock lock(&mu_);
    BERTH_RETURN_IF_ERROR(CheckCreatable(ns, key, parent));
    BERTH_ASSIGN_OR_RETURN(parent_ids, ParentIds(ns, parent));
    BERTH_ASSIGN_OR_RETURN(id, AllocateId());
    const std::string dir = SnapshotDir(id);
    if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoStatus(absl::StrCat("mkdir ", dir));
    creating_.insert(id);
  }
  absl::Status st = Populate(id, kind, parent_ids);
  if (st.ok()) st = fs::SyncDir(absl::StrCat(root_, "/snapshots"));

  absl::MutexLock lock(&mu_);
  creating_.erase(id);
  if (st.ok()) st = CheckCreatable(ns, key, parent);  // things may have changed meanwhile
  if (st.ok()) {
    Record r;
    r.id = id;
    r.kind = kind;
    r.parent = parent;
    r.labels = labels;
    AddCreateLabels(id, r.labels);
    r.created_ns = r.updated_ns = NowNanos();
    MetaStore::Batch batch;
    batch.Put(ns, key, r);
    if (!parent.empty()) batch.AddChild(ns, parent, key);
    auto next = store_->NextId();
    st = next.status();
    if (st.ok()) {
      batch.SetNextId(std::max(*next, id + 1));
      st = store_->Write(batch);
    }
  }
  if (!st.ok()) {
    (void)RemoveTreeIfUnmounted(SnapshotDir(id));  // unreferenced; Cleanup retries on failure
    return Annotate(st, absl::StrCat("create snapshot ", key));
  }
  return MountsFor(id, kind, parent_ids);
}

absl::Status LocalSnapshotter::Commit(const std::string& ns, const std::string& name,
                                      const std::string& key, const Labels& labels) {
  BERTH_RETURN_IF_ERROR(ValidateNamespaceAndKey(ns, key));
  BERTH_RETURN_IF_ERROR(CheckCreateArgs(ns, name, labels));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Record r, store_->Get(ns, key));
  if (r.kind != Kind::kActive) {
    return absl::FailedPreconditionError(
        absl::StrCat("snapshot ", key, " is ", KindName(r.kind), ", only active can be committed"));
  }
  if (auto existing = store_->Get(ns, name); existing.ok()) {
    return absl::AlreadyExistsError(absl::StrCat("snapshot ", name, " already exists"));
  } else if (!absl::IsNotFound(existing.status())) {
    return existing.status();
  }
  auto usage = DiskUsage(FsDir(r.id));
  if (!usage.ok()) return Annotate(usage.status(), absl::StrCat("commit ", key));
  Record committed = r;
  committed.kind = Kind::kCommitted;
  committed.labels = labels;
  committed.usage = *usage;
  committed.created_ns = committed.updated_ns = NowNanos();
  MetaStore::Batch batch;
  batch.Delete(ns, key);
  batch.Put(ns, name, committed);
  if (!r.parent.empty()) {
    batch.RemoveChild(ns, r.parent, key);
    batch.AddChild(ns, r.parent, name);
  }
  return store_->Write(batch);
}

absl::Status LocalSnapshotter::Remove(const std::string& ns, const std::string& key) {
  BERTH_RETURN_IF_ERROR(ValidateNamespaceAndKey(ns, key));
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(Record r, store_->Get(ns, key));
  BERTH_ASSIGN_OR_RETURN(bool has_children, store_->HasChildren(ns, key));
  if (has_children) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot remove snapshot ", key, ": it has children"));
  }
  MetaStore::Batch batch;
  batch.Delete(ns, key);
  if (!r.parent.empty()) batch.RemoveChild(ns, r.parent, key);
  BERTH_RETURN_IF_ERROR(store_->Write(batch));
  if (remove_sync_) {
    // The record is gone, so the snapshot is removed as far as callers can see; a directory
    // that cannot go now (still mounted) is Cleanup's job.
    if (absl::Status st = RemoveTreeIfUnmounted(SnapshotDir(r.id)); !st.ok()) {
      log::Get("snapshotter")->warn("remove snapshot {} ns={}: directory left for cleanup: {}",
                                    key, ns, st.ToString());
    }
  }
  return absl::OkStatus();
}

absl::Status LocalSnapshotter::Walk(const std::string& ns, const WalkFn& fn,
                                    const WalkFilter& filter) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", ns));
  std::vector<std::pair<std::string, Record>> records;
  {
    absl::MutexLock lock(&mu_);
    BERTH_ASSIGN_OR_RETURN(records, store_->List(ns));
  }
  for (const auto& [key, r] : records) {
    Info info = ToInfo(key, r);
    if (filter && !filter(info)) continue;
    BERTH_RETURN_IF_ERROR(fn(info));
  }
  return absl::OkStatus();
}

absl::Status LocalSnapshotter::Cleanup() {
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(auto ids, store_->AllIds());
  const std::string snapshots = absl::StrCat(root_, "/snapshots");
  BERTH_ASSIGN_OR_RETURN(auto names, ReadDirNames(snapshots));
  std::vector<std::string> orphans;
  for (const auto& name : names) {
    uint64_t id = 0;
    if (absl::SimpleAtoi(name, &id) && (ids.count(id) > 0 || creating_.count(id) > 0)) continue;
    orphans.push_back(absl::StrCat(snapshots, "/", name));
  }
  absl::Status first;
  for (const auto& dir : orphans) {
    absl::Status st = RemoveTreeIfUnmounted(dir);
    if (!st.ok() && first.ok()) first = st;
  }
  return first;
}

}  // namespace berth::snapshotter
