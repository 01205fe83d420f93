// Hides the kernel's wait on a container's first cgroup move behind the shim's start-up.
//
// Every write to a cgroup.procs, tasks or cgroup.threads file (v1 and v2 alike) takes the
// kernel's cgroup_threadgroup_rwsem for writing. Taking that per-cpu semaphore for writing
// switches its readers (fork, exec, exit) to their slow path first, which waits for an RCU
// grace period - unless a writer held it within about one grace period. On this VM that wait is
// 5-20 ms, while a `ctr run --rm` of /bin/true takes ~38 ms in all; the executor moves the
// container's init while the init sets up its rootfs, which is over long before. So when a
// container or its task is created, a background thread moves itself into the cgroup it
// is already in (a no-op move that takes the same semaphore): the grace period then passes while
// the daemon starts the shim and the shim creates the container, and the runtime's move a few
// milliseconds later does not wait. The kernel holds cgroup_mutex through that wait, so cgroup
// mkdirs meanwhile (the executor's, first) wait for the rest of it: the earlier the warm-up
// starts, the more it hides. Any v2 shim benefits, containerd-shim-runc-v2 included.
// The window a move opens closes one grace period after it, so tasks created in a burst (a
// pod's containers, kubelet's start-up, `ctr run` in a loop) would each wait again: for a second
// after each create, the thread repeats the no-op move every 5 ms, which keeps the window
// open for every create of the burst (measured: a move 25-50 ms after the previous create waits
// 10.6 ms on average, 0.02 ms with the repeats; they cost ~0.02 ms of CPU each, under 1% of a
// core while they last). Hosts whose cgroup root was mounted with `favordynmods` never wait;
// there this is harmless.
#pragma once

#include <sys/types.h>

#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "core/cgroup_layout.h"

namespace berth::runtime {

// The write that moves thread `tid` to where it already is: the unified hierarchy's
// cgroup.threads when cgroup2 is mounted, else the first v1 hierarchy's tasks file.
// `thread_layout` is parsed from /proc/thread-self/cgroup. NotFound when no hierarchy is mounted.
struct InPlaceMove {
  std::string file;
  std::string tid;
};
absl::StatusOr<InPlaceMove> InPlaceMoveOf(const cgroup::CgroupLayout& thread_layout, pid_t tid);

// Moves the calling thread into its own cgroup (see above), as often as asked: the file is found
// (from /proc/thread-self/cgroup and mountinfo, which grows with every container's mounts) and
// opened once, so a repeat is one write. Each Move waits as long as the kernel makes it.
class InPlaceMover {
 public:
  static absl::StatusOr<InPlaceMover> ForCallingThread();
  InPlaceMover(InPlaceMover&& other) noexcept;
  InPlaceMover& operator=(InPlaceMover&&) = delete;
  ~InPlaceMover();
  absl::Status Move() const;

 private:
  InPlaceMover(int fd, InPlaceMove move) : fd_(fd), move_(std::move(move)) {}
  int fd_;
  InPlaceMove move_;
};

class CgroupWarmer {
 public:
  // `keep_warm`: how long after a Warm the move is repeated (tests shorten it).
  explicit CgroupWarmer(absl::Duration keep_warm = kKeepWarm) : keep_warm_(keep_warm) {}
  ~CgroupWarmer();  // waits for a move in progress (at most one grace period)
  CgroupWarmer(const CgroupWarmer&) = delete;
  CgroupWarmer& operator=(const CgroupWarmer&) = delete;

  // Starts a move in the background and returns at once, and keeps the window open for
  // keep_warm. Requests made while a move is in progress become one more move after it. After
  // the first failure (no cgroup mounted, no permission) it does nothing: the optimisation is
  // off, nothing else changes.
  void Warm();

  static constexpr absl::Duration kKeepWarm = absl::Seconds(1);
  static constexpr absl::Duration kRepeat = absl::Milliseconds(5);

  // Moves made so far (tests).
  int moves() {
    absl::MutexLock lock(&mu_);
    return moves_;
  }

 private:
  void Loop();

  const absl::Duration keep_warm_;
  absl::Mutex mu_;
  bool requested_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool disabled_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time warm_until_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  int moves_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread worker_;  // started by the first Warm
};

}  // namespace berth::runtime
