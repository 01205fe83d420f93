// Whether a directory carries ext4's "top of directory hierarchy" flag (chattr +T), which
// fs::SpreadSubdirectories sets. nullopt where the file system is not ext4 (no such flag).
#pragma once

#include <fcntl.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <optional>
#include <string>

namespace berth::test_support {

inline std::optional<bool> HasTopdirFlag(const std::string& dir) {
  struct statfs fs;
  if (::statfs(dir.c_str(), &fs) != 0 || fs.f_type != EXT4_SUPER_MAGIC) return std::nullopt;
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  bool ok = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
  ::close(fd);
  return ok && (flags & FS_TOPDIR_FL) != 0;
}

}  // namespace berth::test_support
