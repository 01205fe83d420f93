// Directories removed off the caller's path.
//
// A task's bundle is a dozen files and directories; on a root mounted with `discard` (this VM)
// every unlink and rmdir that frees blocks issues a synchronous discard, 0.05-0.1 ms each when
// quiet and milliseconds under load - ~0.6 ms of every Tasks.Delete. Discard renames the
// directory into the trash (one rename: its name is free again at once) and a background
// thread removes it. Whatever a crash left in the trash is removed after the next start.
#pragma once

#include <deque>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"

namespace berth::runtime {

class Trash {
 public:
  // `dir` is the trash; it must be on the file system of the directories it receives (a rename
  // across file systems fails, and Discard then removes in place). Leftovers in it are queued.
  // An empty `dir` is no trash: Discard removes in place.
  explicit Trash(std::string dir);
  ~Trash();  // empties the queue first
  Trash(const Trash&) = delete;
  Trash& operator=(const Trash&) = delete;

  // Moves `path` (a directory or file) into the trash and returns; removes it in place when it
  // cannot be moved. OK when `path` does not exist.
  absl::Status Discard(const std::string& path);

  // "<parent>/.trash" ("" for an empty parent).
  static std::string DirIn(const std::string& parent) {
    return parent.empty() ? "" : parent + "/.trash";
  }

  // Waits until everything discarded so far is gone (tests).
  void Drain();

 private:
  void Loop();
  void Enqueue(std::string path);

  const std::string dir_;
  absl::Mutex mu_;
  std::deque<std::string> queue_ ABSL_GUARDED_BY(mu_);
  bool busy_ ABSL_GUARDED_BY(mu_) = false;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  uint64_t next_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread worker_;
};

}  // namespace berth::runtime
