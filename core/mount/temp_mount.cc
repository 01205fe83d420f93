#include "core/mount/temp_mount.h"

#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "absl/strings/str_cat.h"
#include "core/mount/mountinfo.h"
#include "core/status.h"

namespace berth::mount {

absl::StatusOr<std::unique_ptr<TempMount>> TempMount::Create(const std::vector<Mount>& mounts,
                                                             const std::string& parent_dir) {
  std::string parent = parent_dir;
  if (parent.empty()) {
    const char* env = std::getenv("TMPDIR");
    parent = (env != nullptr && *env != '\0') ? env : "/tmp";
  }
  std::string tmpl = absl::StrCat(parent, "/berth-mount-XXXXXX");
  if (::mkdtemp(tmpl.data()) == nullptr) {
    return ErrnoStatus(absl::StrCat("create temporary mount point in ", parent));
  }
  std::unique_ptr<TempMount> tm(new TempMount(tmpl));
  absl::Status st = MountAll(mounts, tm->path_);
  if (!st.ok()) {
    // MountAll undid its own mounts; Close() still checks before removing the directory.
    (void)tm->Close();
    return Annotate(st, "temporary mount");
  }
  return tm;
}

TempMount::~TempMount() { (void)Close(); }

absl::Status TempMount::Close() {
  if (closed_) return absl::OkStatus();
  absl::Status st = UnmountRecursive(path_, {.detach = false, .busy_retries = 50});
  if (!st.ok()) return Annotate(st, "close temporary mount");
  // rmdir, not rm -rf: after the unmount the directory must be empty; if it is not, something
  // is wrong and deleting would destroy data.
  if (::rmdir(path_.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(absl::StrCat("remove temporary mount point ", path_));
  }
  closed_ = true;
  return absl::OkStatus();
}

absl::Status WithTempMount(const std::vector<Mount>& mounts,
                           const std::function<absl::Status(const std::string& root)>& fn,
                           const std::string& parent_dir) {
  auto tm = TempMount::Create(mounts, parent_dir);
  if (!tm.ok()) return tm.status();
  absl::Status result = fn((*tm)->path());
  absl::Status closed = (*tm)->Close();
  return result.ok() ? closed : result;
}

}  // namespace berth::mount
