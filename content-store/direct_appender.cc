#include "content-store/direct_appender.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::content {

void DirectAppender::AlignedFree::operator()(char* p) const { std::free(p); }

DirectAppender::DirectAppender(int fd, int direct_fd) : fd_(fd), direct_fd_(direct_fd) {}

DirectAppender::~DirectAppender() {
  Discard();
  ::close(direct_fd_);
}

absl::StatusOr<std::unique_ptr<DirectAppender>> DirectAppender::Create(int fd, int direct_fd,
                                                                       int64_t size) {
  std::unique_ptr<DirectAppender> a(new DirectAppender(fd, direct_fd));
  for (auto& b : a->buffers_) {
    b.reset(static_cast<char*>(std::aligned_alloc(kAlign, kBufferSize)));
    if (b == nullptr) return absl::ResourceExhaustedError("allocate direct I/O buffer");
  }
  // Resume at an unaligned size: carry the partial last block.
  a->start_ = size - size % kAlign;
  a->len_ = a->on_file_ = static_cast<size_t>(size - a->start_);
  size_t done = 0;
  while (done < a->len_) {
    ssize_t n = ::pread(fd, a->buffers_[0].get() + done, a->len_ - done, a->start_ + done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoStatus(n < 0 ? errno : EIO, "read last block of ingest data");
    done += static_cast<size_t>(n);
  }
  return a;
}

absl::Status DirectAppender::WaitInFlight() {
  if (!in_flight_) return absl::OkStatus();
  in_flight_ = false;
  size_t written = 0;
  absl::Status st = worker_.Wait(&written);
  BERTH_RETURN_IF_ERROR(Annotate(st, "direct write"));
  if (written != in_flight_len_) return absl::DataLossError("short direct write");
  return absl::OkStatus();
}

void DirectAppender::Submit(size_t len) {
  in_flight_len_ = len;
  worker_.Start(direct_fd_, absl::string_view(buffers_[current_].get(), len), start_);
  in_flight_ = true;
  start_ += static_cast<int64_t>(len);
  current_ ^= 1;
  len_ = on_file_ = 0;
}

absl::Status DirectAppender::Append(absl::string_view data) {
  while (!data.empty()) {
    size_t n = std::min(data.size(), kBufferSize - len_);
    std::memcpy(buffers_[current_].get() + len_, data.data(), n);
    len_ += n;
    data.remove_prefix(n);
    if (len_ == kBufferSize) {
      // The other buffer must be free before it becomes current.
      BERTH_RETURN_IF_ERROR(WaitInFlight());
      Submit(kBufferSize);
    }
  }
  return absl::OkStatus();
}

absl::Status DirectAppender::Flush() {
  BERTH_RETURN_IF_ERROR(WaitInFlight());
  if (len_ == on_file_) return absl::OkStatus();
  size_t aligned = len_ - len_ % kAlign;
  if (aligned > on_file_) {
    // Direct-write the whole blocks synchronously, then treat the rest as the tail.
    size_t written = 0;
    BERTH_RETURN_IF_ERROR(Annotate(
        PwriteAll(direct_fd_, absl::string_view(buffers_[current_].get(), aligned), start_,
                  &written),
        "direct write"));
  } else {
    aligned = on_file_ - on_file_ % kAlign;
  }
  size_t tail_from = std::max(aligned, on_file_);
  size_t written = 0;
  BERTH_RETURN_IF_ERROR(PwriteAll(
      fd_, absl::string_view(buffers_[current_].get() + tail_from, len_ - tail_from),
      start_ + static_cast<int64_t>(tail_from), &written));
  // Keep only the partial last block, at the front of the buffer.
  char* buf = buffers_[current_].get();
  std::memmove(buf, buf + aligned, len_ - aligned);
  start_ += static_cast<int64_t>(aligned);
  len_ -= aligned;
  on_file_ = len_;
  return absl::OkStatus();
}

void DirectAppender::Discard() {
  (void)WaitInFlight();
  len_ = on_file_ = 0;
}

absl::Status DirectAppender::Reset() {
  BERTH_RETURN_IF_ERROR(WaitInFlight());
  start_ = 0;
  len_ = on_file_ = 0;
  return absl::OkStatus();
}

}  // namespace berth::content
