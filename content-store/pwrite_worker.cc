#include "content-store/pwrite_worker.h"

#include <unistd.h>

#include <cerrno>

#include "core/status.h"

namespace berth::content {

absl::Status PwriteAll(int fd, absl::string_view data, int64_t offset, size_t* written) {
  *written = 0;
  while (*written < data.size()) {
    ssize_t n = ::pwrite(fd, data.data() + *written, data.size() - *written,
                         static_cast<off_t>(offset + *written));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("write ingest data");
    }
    *written += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

PwriteWorker::PwriteWorker() : thread_([this] { Loop(); }) {}

PwriteWorker::~PwriteWorker() {
  {
    absl::MutexLock l(&mu_);
    mu_.Await(absl::Condition(
        +[](PwriteWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) { return !w->has_job_; },
        this));
    stop_ = true;
  }
  thread_.join();
}

void PwriteWorker::Start(int fd, absl::string_view data, int64_t offset) {
  absl::MutexLock l(&mu_);
  fd_ = fd;
  data_ = data;
  offset_ = offset;
  done_ = false;
  has_job_ = true;
}

absl::Status PwriteWorker::Wait(size_t* written) {
  absl::MutexLock l(&mu_);
  mu_.Await(absl::Condition(&done_));
  done_ = false;
  *written = written_;
  return status_;
}

void PwriteWorker::Loop() {
  for (;;) {
    int fd;
    absl::string_view data;
    int64_t offset;
    {
      absl::MutexLock l(&mu_);
      mu_.Await(absl::Condition(
          +[](PwriteWorker* w) ABSL_EXCLUSIVE_LOCKS_REQUIRED(w->mu_) {
            return w->has_job_ || w->stop_;
          },
          this));
      if (!has_job_) return;  // stop_
      fd = fd_;
      data = data_;
      offset = offset_;
    }
    size_t written = 0;
    absl::Status st = PwriteAll(fd, data, offset, &written);
    absl::MutexLock l(&mu_);
    written_ = written;
    status_ = std::move(st);
    has_job_ = false;
    done_ = true;
  }
}

}  // namespace berth::content
