#include "shim-v2/manager/cgroup_warmer.h"

#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/log.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::runtime {

absl::StatusOr<InPlaceMove> InPlaceMoveOf(const cgroup::CgroupLayout& layout, pid_t tid) {
  if (!layout.unified_mount.empty()) {
    return InPlaceMove{
        cgroup::DirUnderMount(layout.unified_mount, layout.unified_root, layout.unified_own_path) +
            "/cgroup.threads",
        absl::StrCat(tid)};
  }
  if (layout.v1.empty()) return absl::NotFoundError("no cgroup hierarchy is mounted");
  const cgroup::CgroupHierarchy& h = layout.v1.front();
  return InPlaceMove{cgroup::DirUnderMount(h.mount_point, h.root, h.own_path) + "/tasks",
                     absl::StrCat(tid)};
}

absl::StatusOr<InPlaceMover> InPlaceMover::ForCallingThread() {
  BERTH_ASSIGN_OR_RETURN(cgroup::CgroupLayout layout,
                         cgroup::DetectCgroupLayout("/proc/thread-self/cgroup"));
  BERTH_ASSIGN_OR_RETURN(InPlaceMove move,
                         InPlaceMoveOf(layout, static_cast<pid_t>(syscall(SYS_gettid))));
  int fd = ::open(move.file.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", move.file));
  return InPlaceMover(fd, std::move(move));
}

InPlaceMover::InPlaceMover(InPlaceMover&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), move_(std::move(other.move_)) {}

InPlaceMover::~InPlaceMover() {
  if (fd_ >= 0) ::close(fd_);
}

absl::Status InPlaceMover::Move() const { return fs::WriteAll(fd_, move_.tid, move_.file); }

CgroupWarmer::~CgroupWarmer() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  if (worker_.joinable()) worker_.join();
}

void CgroupWarmer::Warm() {
  absl::MutexLock lock(&mu_);
  if (disabled_ || stopping_) return;
  requested_ = true;
  warm_until_ = absl::Now() + keep_warm_;
  if (!worker_.joinable()) worker_ = std::thread([this] { Loop(); });
}

void CgroupWarmer::Loop() {
  absl::StatusOr<InPlaceMover> mover = InPlaceMover::ForCallingThread();
  while (true) {
    {
      absl::MutexLock lock(&mu_);
      const absl::Condition woken(
          +[](CgroupWarmer* w) ABSL_NO_THREAD_SAFETY_ANALYSIS {
            return w->requested_ || w->stopping_;
          },
          this);
      // Within a burst, repeat the move before the window closes; otherwise wait for a task.
      if (absl::Now() < warm_until_) {
        mu_.AwaitWithTimeout(woken, kRepeat);
      } else {
        mu_.Await(woken);
      }
      if (stopping_) return;
      requested_ = false;
    }
    absl::Status st = mover.ok() ? mover->Move() : mover.status();
    absl::MutexLock lock(&mu_);
    if (!st.ok()) {
      log::Get("runtime")->info("cgroup move warm-up off: {}", st.ToString());
      disabled_ = true;
      return;
    }
    ++moves_;
  }
}

}  // namespace berth::runtime
