#include "shim-v2/shim/mount_ns_pin.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>

namespace berth::shim {

MountNamespacePin::MountNamespacePin(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/ns/mnt";
  absl::MutexLock lock(&mu_);
  fd_ = open(path.c_str(), O_RDONLY | O_CLOEXEC);
}

void MountNamespacePin::Release() {
  // close() runs the final put of the namespace before it returns (the file's release is
  // task work of the closing thread), so holding mu_ across it makes a second caller wait.
  absl::MutexLock lock(&mu_);
  if (fd_ < 0) return;
  close(fd_);
  fd_ = -1;
}

}  // namespace berth::shim
