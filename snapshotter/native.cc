#include "snapshotter/native.h"

#include <sys/stat.h>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "snapshotter/fsutil.h"
#include "snapshotter/local_snapshotter.h"

namespace berth::snapshotter {
namespace {

class NativeSnapshotter : public LocalSnapshotter {
 public:
  explicit NativeSnapshotter(const NativeConfig& config)
      : LocalSnapshotter(config.root_path, /*remove_sync=*/true) {}

  absl::Status Open() { return Init(); }

 protected:
  absl::Status Populate(uint64_t id, Kind kind, const std::vector<uint64_t>& parent_ids) override {
    const std::string fs_dir = FsDir(id);
    if (::mkdir(fs_dir.c_str(), 0755) != 0) return ErrnoStatus(absl::StrCat("mkdir ", fs_dir));
    // A View reads its parent directly (it can never change); only an Active needs a copy.
    if (kind == Kind::kActive && !parent_ids.empty()) {
      return CopyDir(FsDir(parent_ids.front()), fs_dir);
    }
    return absl::OkStatus();
  }

  std::vector<mount::Mount> MountsFor(uint64_t id, Kind kind,
                                      const std::vector<uint64_t>& parent_ids) override {
    if (kind == Kind::kView) {
      const std::string source = parent_ids.empty() ? FsDir(id) : FsDir(parent_ids.front());
      return {{.type = "bind", .source = source, .options = {"ro", "rbind"}}};
    }
    return {{.type = "bind", .source = FsDir(id), .options = {"rw", "rbind"}}};
  }
};

}  // namespace

absl::StatusOr<std::unique_ptr<Snapshotter>> NewNativeSnapshotter(const NativeConfig& config) {
  auto s = std::make_unique<NativeSnapshotter>(config);
  BERTH_RETURN_IF_ERROR(s->Open());
  return std::unique_ptr<Snapshotter>(std::move(s));
}

}  // namespace berth::snapshotter
