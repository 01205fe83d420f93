#include "cmd/berthd/lock_file.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"

namespace berth::daemon {

absl::StatusOr<LockFile> LockFile::Acquire(const std::string& path, const std::string& what) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open lock file ", path));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    std::string holder = fs::ReadFile(path).value_or("");
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, " is in use by another berthd (pid ",
                       std::string(absl::StripAsciiWhitespace(holder)), ", lock ", path, ")"));
    }
    return ErrnoStatus(err, absl::StrCat("lock ", path));
  }
  std::string pid = absl::StrCat(::getpid(), "\n");
  if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) < 0) {
    int err = errno;
    ::close(fd);
    return ErrnoStatus(err, absl::StrCat("write lock file ", path));
  }
  return LockFile(path, fd);
}

LockFile::LockFile(LockFile&& other) noexcept : path_(std::move(other.path_)), fd_(other.fd_) {
  other.fd_ = -1;
}

LockFile::~LockFile() {
  if (fd_ < 0) return;
  // Unlink while still holding the lock, so no other daemon can have locked this inode.
  ::unlink(path_.c_str());
  ::close(fd_);
}

}  // namespace berth::daemon
