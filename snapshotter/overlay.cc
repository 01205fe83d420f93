#include "snapshotter/overlay.h"

#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/fs.h"
#include "core/mount/temp_mount.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "snapshotter/fsutil.h"
#include "snapshotter/local_snapshotter.h"

namespace berth::snapshotter {
namespace {

class OverlaySnapshotter : public LocalSnapshotter {
 public:
  explicit OverlaySnapshotter(const OverlayConfig& config)
      : LocalSnapshotter(config.root_path, config.sync_remove),
        config_(config),
        index_off_(OverlayHasIndexOption()) {}

  absl::Status Open() { return Init(); }

 protected:
  absl::Status Populate(uint64_t id, Kind kind, const std::vector<uint64_t>& parent_ids) override {
    const std::string fs_dir = FsDir(id);
    if (::mkdir(fs_dir.c_str(), 0755) != 0) return ErrnoStatus(absl::StrCat("mkdir ", fs_dir));
    if (kind == Kind::kActive) {
      const std::string work = WorkDir(id);
      if (::mkdir(work.c_str(), 0711) != 0) return ErrnoStatus(absl::StrCat("mkdir ", work));
    }
    if (!parent_ids.empty()) {
      // The upper's root shadows the lower's root directory: give it the same owner, so a
      // rootless layer stack keeps a usable "/" (containerd does the same).
      struct stat st;
      const std::string parent_fs = FsDir(parent_ids.front());
      if (::stat(parent_fs.c_str(), &st) != 0) {
        return ErrnoStatus(absl::StrCat("stat parent ", parent_fs));
      }
      if (::lchown(fs_dir.c_str(), st.st_uid, st.st_gid) != 0) {
        return ErrnoStatus(absl::StrCat("chown ", fs_dir));
      }
    }
    return absl::OkStatus();
  }

  std::vector<mount::Mount> MountsFor(uint64_t id, Kind kind,
                                      const std::vector<uint64_t>& parent_ids) override {
    const char* ro_or_rw = kind == Kind::kView ? "ro" : "rw";
    // Overlay needs at least one lower layer: a base snapshot is its directory, bound.
    if (parent_ids.empty()) {
      return {{.type = "bind", .source = FsDir(id), .options = {ro_or_rw, "rbind"}}};
    }
    // A View of a single layer is that layer, read-only.
    if (kind == Kind::kView && parent_ids.size() == 1) {
      return {{.type = "bind", .source = FsDir(parent_ids.front()), .options = {"ro", "rbind"}}};
    }
    std::vector<std::string> options;
    if (index_off_) options.push_back("index=off");
    if (kind == Kind::kActive) {
      options.push_back(absl::StrCat("workdir=", WorkDir(id)));
      options.push_back(absl::StrCat("upperdir=", FsDir(id)));
    } else {
      options.push_back("ro");
    }
    std::vector<std::string> lowers;
    lowers.reserve(parent_ids.size());
    for (uint64_t pid : parent_ids) lowers.push_back(FsDir(pid));  // closest parent first
    options.push_back(absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":")));
    options.insert(options.end(), config_.mount_options.begin(), config_.mount_options.end());
    return {{.type = "overlay", .source = "overlay", .options = std::move(options)}};
  }

  void AddCreateLabels(uint64_t id, Labels& labels) override {
    if (config_.upperdir_label) labels[kUpperdirLabel] = FsDir(id);
  }

 private:
  const OverlayConfig config_;
  const bool index_off_;
};

}  // namespace

bool OverlayHasIndexOption() {
  struct stat st;
  return ::stat("/sys/module/overlay/parameters/index", &st) == 0;
}

absl::StatusOr<std::unique_ptr<Snapshotter>> NewOverlaySnapshotter(const OverlayConfig& config) {
  auto s = std::make_unique<OverlaySnapshotter>(config);
  BERTH_RETURN_IF_ERROR(s->Open());
  return std::unique_ptr<Snapshotter>(std::move(s));
}

absl::Status CheckOverlaySupport(const std::string& root) {
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(root, 0700));
  std::string tmpl = absl::StrCat(root, "/overlay-check-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) return ErrnoStatus(absl::StrCat("mkdtemp in ", root));
  for (const char* sub : {"/lower1", "/lower2", "/upper", "/work", "/merged"}) {
    (void)::mkdir((tmpl + sub).c_str(), 0700);
  }
  mount::Mount m{.type = "overlay",
                 .source = "overlay",
                 .options = {absl::StrCat("lowerdir=", tmpl, "/lower2:", tmpl, "/lower1"),
                             absl::StrCat("upperdir=", tmpl, "/upper"),
                             absl::StrCat("workdir=", tmpl, "/work")}};
  absl::Status st = mount::MountAll({m}, tmpl + "/merged");
  if (st.ok()) st = mount::UnmountAll(tmpl + "/merged");
  (void)RemoveTreeIfUnmounted(tmpl);  // never deletes through a mount that did not go away
  return Annotate(st, "overlay not supported");
}

}  // namespace berth::snapshotter
