#include "shim-v2/shim/oom.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::shim {

absl::Status WatchOom(const std::string& cgroups_path, std::function<void()> on_oom) {
  if (cgroups_path.empty() || cgroups_path[0] != '/') {
    return absl::FailedPreconditionError("oom watch: only cgroupfs paths are supported");
  }
  std::string dir = "/sys/fs/cgroup/memory" + cgroups_path;
  int control = open((dir + "/memory.oom_control").c_str(), O_RDONLY | O_CLOEXEC);
  if (control < 0) return ErrnoStatus(absl::StrCat("open ", dir, "/memory.oom_control"));
  int efd = eventfd(0, EFD_CLOEXEC);
  if (efd < 0) {
    absl::Status st = ErrnoStatus("eventfd");
    close(control);
    return st;
  }
  int ec = open((dir + "/cgroup.event_control").c_str(), O_WRONLY | O_CLOEXEC);
  std::string line = absl::StrCat(efd, " ", control);
  if (ec < 0 || write(ec, line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    absl::Status st = ErrnoStatus("register oom event");
    if (ec >= 0) close(ec);
    close(efd);
    close(control);
    return st;
  }
  close(ec);
  return ttrpc::StartDetached(
      [efd, control, dir, on_oom = std::move(on_oom)] {
        while (true) {
          uint64_t n;
          ssize_t r = read(efd, &n, sizeof(n));
          if (r < 0 && errno == EINTR) continue;
          if (r != sizeof(n)) break;
          struct stat st;
          if (stat(dir.c_str(), &st) != 0) break;  // the cgroup is gone: watch over
          on_oom();
        }
        close(efd);
        close(control);
      },
      64 * 1024);
}

}  // namespace berth::shim
