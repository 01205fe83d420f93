// An flock'ed lock file holding the owner's pid, so a second daemon on the same root or socket
// refuses with a message naming the running one instead of silently stealing its socket
// (gRPC unlinks an existing socket file before binding).
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::daemon {

class LockFile {
 public:
  // Takes the lock (non-blocking). FailedPrecondition "... is locked by berthd pid N" when held.
  static absl::StatusOr<LockFile> Acquire(const std::string& path, const std::string& what);
  LockFile(LockFile&& other) noexcept;
  LockFile& operator=(LockFile&&) = delete;
  ~LockFile();  // unlinks the file and releases the lock

 private:
  LockFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
};

}  // namespace berth::daemon
