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
    std::unique_lock l(mu_);
    cv_.wait(l, [this] { return !has_job_; });
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PwriteWorker::Start(int fd, absl::string_view data, int64_t offset) {
  {
    std::lock_guard l(mu_);
    fd_ = fd;
    data_ = data;
    offset_ = offset;
    done_ = false;
    has_job_ = true;
  }
  cv_.notify_all();
}

absl::Status PwriteWorker::Wait(size_t* written) {
  std::unique_lock l(mu_);
  cv_.wait(l, [this] { return done_; });
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
      std::unique_lock l(mu_);
      cv_.wait(l, [this] { return has_job_ || stop_; });
      if (!has_job_) return;  // stop_
      fd = fd_;
      data = data_;
      offset = offset_;
    }
    size_t written = 0;
    absl::Status st = PwriteAll(fd, data, offset, &written);
    {
      std::lock_guard l(mu_);
      written_ = written;
      status_ = std::move(st);
      has_job_ = false;
      done_ = true;
    }
    cv_.notify_all();
  }
}

}  // namespace berth::content
