// TempMount: mount a set of mounts on a fresh temporary directory for as long as an object
// lives (containerd's mount.WithTempMount), e.g. to look inside a snapshot or apply a layer.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/mount/mount.h"

namespace berth::mount {

class TempMount {
 public:
  // Creates a directory under `parent_dir` (default: $TMPDIR or /tmp) and mounts `mounts` on it.
  // If mounting fails the directory is removed before returning the error.
  static absl::StatusOr<std::unique_ptr<TempMount>> Create(const std::vector<Mount>& mounts,
                                                           const std::string& parent_dir = "");

  TempMount(const TempMount&) = delete;
  TempMount& operator=(const TempMount&) = delete;
  // Calls Close() and drops its error (there is nobody to return it to): prefer Close().
  ~TempMount();

  const std::string& path() const { return path_; }

  // Unmounts everything below path() (deepest first, retrying while busy) and removes the
  // directory. Idempotent. Returns the first error; the directory is kept when the unmount
  // fails, so nothing below a live mount is ever deleted.
  absl::Status Close();

 private:
  explicit TempMount(std::string path) : path_(std::move(path)) {}
  std::string path_;
  bool closed_ = false;
};

// Mounts `mounts` on a temporary directory, runs fn(path), then always unmounts and removes
// the directory. Returns fn's error if any, else the cleanup error.
absl::Status WithTempMount(const std::vector<Mount>& mounts,
                           const std::function<absl::Status(const std::string& root)>& fn,
                           const std::string& parent_dir = "");

}  // namespace berth::mount
