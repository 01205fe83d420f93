#include "shim-v2/manager/daemon_address.h"

#include <dirent.h>
#include <unistd.h>

#include <mutex>

#include "absl/strings/match.h"

namespace berth::runtime {
namespace {

std::mutex g_mu;
std::string g_address;

std::string ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof(buf) - 1);
  if (n <= 0) return "";
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

void SetDaemonGrpcAddress(const std::string& address) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_address = address;
}

std::string DaemonGrpcAddress(const std::string& daemon_root) {
  {
    std::lock_guard<std::mutex> lock(g_mu);
    if (!g_address.empty()) return g_address;
  }
  const std::string root_lock = daemon_root + "/berthd.lock";
  std::string found;
  if (DIR* dir = ::opendir("/proc/self/fd")) {
    while (dirent* e = ::readdir(dir)) {
      if (e->d_name[0] == '.') continue;
      std::string target = ReadLink(std::string("/proc/self/fd/") + e->d_name);
      if (target.empty() || target == root_lock || !absl::EndsWith(target, ".lock")) continue;
      if (absl::EndsWith(target, "/berthd.lock")) continue;
      found = target.substr(0, target.size() - 5);
      break;
    }
    ::closedir(dir);
  }
  if (found.empty()) found = "/run/berth/berth.sock";
  SetDaemonGrpcAddress(found);
  return found;
}

std::string SelfExecutable() {
  std::string exe = ReadLink("/proc/self/exe");
  return exe.empty() ? "berthd" : exe;
}

}  // namespace berth::runtime
