#include "shim-v2/socket/socket_address.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"
#include "shim-v2/socket/sha256.h"

namespace berth::shim {
absl::StatusOr<int> ListenUnix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("socket path too long: ", path));
  }
  memcpy(sa.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    absl::Status st = ErrnoStatus(absl::StrCat("bind ", path));
    close(fd);
    return st;
  }
  chmod(path.c_str(), 0600);
  if (listen(fd, 16) != 0) {
    absl::Status st = ErrnoStatus("listen");
    close(fd);
    return st;
  }
  return fd;
}

std::string SocketAddress(const std::string& containerd_address, const std::string& ns,
                          const std::string& id) {
  // filepath.Join(socketPath, ns, id): cleaned, single slashes.
  std::string joined;
  for (char c : absl::StrCat(containerd_address, "/", ns, "/", id)) {
    if (c != '/' || joined.empty() || joined.back() != '/') joined.push_back(c);
  }
  return absl::StrCat("unix://", kSocketRoot, "/", Sha256Hex(joined));
}

std::string SocketPath(const std::string& address) {
  return absl::StartsWith(address, "unix://") ? address.substr(7) : address;
}

bool CanConnect(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  strncpy(sa.sun_path, path.c_str(), sizeof(sa.sun_path) - 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  bool ok = fd >= 0 && connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
  if (fd >= 0) close(fd);
  return ok;
}

absl::StatusOr<int> ListenOrShare(const std::string& address) {
  std::string path = SocketPath(address);
  (void)fs::MkdirAll(kSocketRoot, 0711);
  absl::StatusOr<int> fd = ListenUnix(path);
  if (fd.ok() || absl::IsInvalidArgument(fd.status())) return fd;
  if (CanConnect(path)) return -1;
  unlink(path.c_str());
  return ListenUnix(path);
}

}  // namespace berth::shim
