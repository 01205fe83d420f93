// Filesystem primitives that never leave a root directory (internal to berth::diff, Linux only).
//
// Everything works on directory file descriptors and single path components; a parent path is
// resolved beneath the root without following any symlink (openat2 RESOLVE_BENEATH |
// RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, falling back to an O_NOFOLLOW walk when the
// kernel has no openat2).
#pragma once

#include <functional>
#include <string>
#include <unordered_set>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::diff::internal {

// An owned file descriptor (-1 = none).
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    if (this != &other) {
      Reset();
      fd_ = std::exchange(other.fd_, -1);
    }
    return *this;
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  bool valid() const { return fd_ >= 0; }
  void Reset();
  int Release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

// Cleans a tar path relative to the archive root: drops empty and "." components and a trailing
// "/". Returns "" for the root itself. InvalidArgument for an absolute path, a ".." component,
// a NUL-free but over-long path (> 4096) or an empty name.
absl::StatusOr<std::string> CleanEntryPath(absl::string_view name);

// Splits a cleaned path into (parent, base): "a/b/c" -> ("a/b", "c"), "c" -> ("", "c").
std::pair<std::string, std::string> SplitPath(const std::string& clean);

// Called for each directory OpenDirBeneath creates: its parent fd, its name, its cleaned path.
using OnCreateDir =
    std::function<absl::Status(int parent_fd, const std::string& name, const std::string& rel)>;

// Opens directory `rel` (cleaned, "" = the root itself) beneath `root_fd` as an O_PATH fd.
// With `create`, missing components are created (mode 0755, then `on_create`). A component
// that is a symlink or not a directory -> InvalidArgument; missing without `create` -> NotFound.
absl::StatusOr<Fd> OpenDirBeneath(int root_fd, const std::string& rel, bool create,
                                  const OnCreateDir& on_create = nullptr);

// Forces the O_NOFOLLOW walk instead of openat2 (to test the path older kernels take).
void DisableOpenat2ForTest(bool disable);

// Opens an O_PATH directory fd for reading (getdents, fsetxattr, fchmod).
absl::StatusOr<Fd> ReopenDir(int dir_fd);

// Removes `name` in `dir_fd` recursively, never following symlinks. OK when absent.
absl::Status RemoveAt(int dir_fd, const std::string& name);

// Removes everything below directory `dir_fd` (whose path is `dir_rel`) that is not in `keep`,
// descending into kept directories (a kPlain opaque directory: content not from this layer
// disappears).
absl::Status RemoveChildrenExcept(int dir_fd, const std::string& dir_rel,
                                  const std::unordered_set<std::string>& keep);

// Joins a cleaned parent and a component ("" + "a" -> "a").
std::string JoinPath(const std::string& parent, const std::string& name);

}  // namespace berth::diff::internal
