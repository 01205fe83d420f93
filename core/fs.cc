#include "core/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::fs {
namespace {

// Temp file beside `path`, written, renamed over it; fsync'd first when `durable`.
absl::Status WriteViaRename(const std::string& path, absl::string_view data, int mode,
                            bool durable) {
  std::string tmp = absl::StrCat(path, ".tmp-", ::getpid(), "-", std::random_device{}());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoStatus(absl::StrCat("create ", tmp));
  absl::Status status = WriteAll(fd, data, tmp);
  if (status.ok() && ::fchmod(fd, mode) != 0) status = ErrnoStatus(absl::StrCat("chmod ", tmp));
  if (status.ok() && durable && ::fsync(fd) != 0) {
    status = ErrnoStatus(absl::StrCat("fsync ", tmp));
  }
  ::close(fd);
  if (status.ok() && ::rename(tmp.c_str(), path.c_str()) != 0) {
    status = ErrnoStatus(absl::StrCat("rename ", tmp, " to ", path));
  }
  if (!status.ok()) ::unlink(tmp.c_str());
  return status;
}

}  // namespace

absl::Status WriteAll(int fd, absl::string_view data, absl::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(absl::StrCat("write ", what));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

std::string Dirname(absl::string_view path) {
  auto pos = path.rfind('/');
  if (pos == absl::string_view::npos) return ".";
  if (pos == 0) return "/";
  return std::string(path.substr(0, pos));
}

absl::Status SyncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open directory ", dir));
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return ErrnoStatus(err, absl::StrCat("fsync ", dir));
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& path, absl::string_view data, int mode) {
  BERTH_RETURN_IF_ERROR(WriteViaRename(path, data, mode, /*durable=*/true));
  return SyncDir(Dirname(path));
}

absl::Status WriteFileReplace(const std::string& path, absl::string_view data, int mode) {
  return WriteViaRename(path, data, mode, /*durable=*/false);
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path));
  // Read straight into the string: callers include threads with 64 KiB stacks (the shim's
  // reaper), where a large stack buffer would jump the guard page into a neighbour's memory.
  std::string out;
  size_t used = 0;
  for (;;) {
    if (out.size() - used < 4096) out.resize(std::max<size_t>(out.size() * 2, 16384));
    ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoStatus(err, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    used += static_cast<size_t>(n);
  }
  ::close(fd);
  out.resize(used);
  return out;
}

absl::Status MkdirAll(const std::string& path, int mode) {
  std::error_code ec;
  std::filesystem::path p(path);
  std::string current;
  for (const auto& part : p) {
    current = current.empty()  ? part.string()
              : current == "/" ? "/" + part.string()
                               : current + "/" + part.string();
    if (current == "/" || part.empty()) continue;
    if (::mkdir(current.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("mkdir ", current));
    }
  }
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", path));
  if (!S_ISDIR(st.st_mode)) {
    return absl::FailedPreconditionError(absl::StrCat(path, " exists and is not a directory"));
  }
  return absl::OkStatus();
}

absl::Status RemoveAll(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return ErrnoStatus(ec.value(), absl::StrCat("remove ", path));
  return absl::OkStatus();
}

}  // namespace berth::fs
