#include "executor/background_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>

#include "core/status.h"

namespace berth::executor {

BackgroundNetns::BackgroundNetns()
    : helper_([this] {
        // Namespaces belong to threads: this moves only the helper, which ends right after.
        if (unshare(CLONE_NEWNET) != 0) {
          fd_ = -errno;
          return;
        }
        int fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        fd_ = fd >= 0 ? fd : -errno;
      }) {}

BackgroundNetns::~BackgroundNetns() {
  if (helper_.joinable()) helper_.join();
  if (!taken_ && fd_ >= 0) close(fd_);
}

absl::StatusOr<int> BackgroundNetns::Take() {
  if (helper_.joinable()) helper_.join();
  taken_ = true;
  if (fd_ < 0) return ErrnoStatus(-fd_, "create network namespace");
  return fd_;
}

}  // namespace berth::executor
