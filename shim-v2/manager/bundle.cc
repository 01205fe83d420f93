#include "shim-v2/manager/bundle.h"

#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/identifiers.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "nlohmann/json.hpp"

namespace berth::runtime {

Bundle Bundle::At(const std::string& state, const std::string& root, const std::string& ns,
                  const std::string& id) {
  return Bundle{ns, id, absl::StrCat(state, "/", ns, "/", id), absl::StrCat(root, "/", ns, "/", id)};
}

absl::StatusOr<Bundle> Bundle::Create(const std::string& state, const std::string& root,
                                      const std::string& ns, const std::string& id,
                                      const std::string& spec) {
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("namespace", ns));
  BERTH_RETURN_IF_ERROR(ValidateIdentifier("task id", id));
  Bundle b = At(state, root, ns, id);
  for (const std::string& parent : {absl::StrCat(state, "/", ns), absl::StrCat(root, "/", ns)}) {
    BERTH_RETURN_IF_ERROR(fs::MkdirAll(parent, 0711));
    (void)fs::SpreadSubdirectories(parent);  // each bundle in a fresh ext4 group (core/fs.h)
  }
  if (::mkdir(b.path.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat("task \"", id, "\": bundle already exists"));
    }
    return ErrnoStatus(absl::StrCat("create bundle ", b.path));
  }
  auto fail = [&](absl::Status st) {
    (void)b.Delete();
    return st;
  };
  if (::mkdir(absl::StrCat(b.path, "/rootfs").c_str(), 0711) != 0) {
    return fail(ErrnoStatus("create bundle rootfs"));
  }
  (void)fs::RemoveAll(b.work_dir);  // a stale one from a crashed daemon
  if (::mkdir(b.work_dir.c_str(), 0711) != 0) return fail(ErrnoStatus("create work dir"));
  if (::symlink(b.work_dir.c_str(), absl::StrCat(b.path, "/work").c_str()) != 0) {
    return fail(ErrnoStatus("link work dir"));
  }
  if (absl::Status st = fs::WriteFileReplace(absl::StrCat(b.path, "/config.json"), spec, 0600);
      !st.ok()) {
    return fail(st);
  }
  return b;
}

absl::Status Bundle::Delete(Trash* state_trash, Trash* root_trash) const {
  std::string rootfs = absl::StrCat(path, "/rootfs");
  // The shim unmounts the rootfs on Delete; a dead shim may not have.
  while (::umount2(rootfs.c_str(), MNT_DETACH) == 0) {
  }
  absl::Status st = state_trash != nullptr ? state_trash->Discard(path) : fs::RemoveAll(path);
  absl::Status wst = root_trash != nullptr ? root_trash->Discard(work_dir) : fs::RemoveAll(work_dir);
  if (!st.ok()) return Annotate(st, absl::StrCat("delete bundle ", path));
  return Annotate(wst, absl::StrCat("delete work dir ", work_dir));
}

absl::Status Bundle::WriteExit(const Exit& exit) const {
  nlohmann::json j = {{"pid", exit.pid},
                      {"status", exit.status},
                      {"exited_at", absl::ToUnixNanos(exit.exited_at)}};
  return fs::WriteFileReplace(absl::StrCat(path, "/berth-exit"), j.dump(), 0600);
}

std::optional<Exit> Bundle::ReadExit() const {
  auto data = fs::ReadFile(absl::StrCat(path, "/berth-exit"));
  if (!data.ok()) return std::nullopt;
  auto j = nlohmann::json::parse(*data, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  Exit e;
  e.pid = j.value("pid", 0u);
  e.status = j.value("status", 0u);
  e.exited_at = absl::FromUnixNanos(j.value("exited_at", int64_t{0}));
  return e;
}

}  // namespace berth::runtime
