// Internal to the local store: a helper thread that runs one pwrite at a time, so a Writer can
// copy a chunk into the page cache on one core while it hashes the same chunk on another.
// (On the build machines the kernel's page-cache copy costs more CPU than SHA-NI hashing.)
#pragma once

#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/base/thread_annotations.h"

namespace berth::content {

// Writes all of `data` at `offset` (retrying short writes and EINTR). `*written` gets the bytes
// that reached the file, also on error.
absl::Status PwriteAll(int fd, absl::string_view data, int64_t offset, size_t* written);

class PwriteWorker {
 public:
  PwriteWorker();
  ~PwriteWorker();  // waits for a pending write, stops the thread
  PwriteWorker(const PwriteWorker&) = delete;
  PwriteWorker& operator=(const PwriteWorker&) = delete;

  // Starts PwriteAll(fd, data, offset) on the worker. `data` must stay valid until Wait().
  // Precondition: no write pending.
  void Start(int fd, absl::string_view data, int64_t offset);
  // Waits for the started write; returns its status, `*written` as PwriteAll.
  absl::Status Wait(size_t* written);

 private:
  void Loop();

  // std::mutex rather than absl::Mutex: Debian's libabsl is not TSan-instrumented, and this
  // class is exactly what the TSan run of the tests needs to see.
  std::mutex mu_;
  std::condition_variable cv_;
  bool has_job_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  int fd_ ABSL_GUARDED_BY(mu_) = -1;
  absl::string_view data_ ABSL_GUARDED_BY(mu_);
  int64_t offset_ ABSL_GUARDED_BY(mu_) = 0;
  size_t written_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status status_ ABSL_GUARDED_BY(mu_);
  std::thread thread_;
};

}  // namespace berth::content
