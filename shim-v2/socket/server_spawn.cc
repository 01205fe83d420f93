#include "shim-v2/socket/server_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include "core/status.h"

namespace berth::shim {

ServerSpawnSetup::ServerSpawnSetup(int listener, const std::string& cwd) {
  posix_spawn_file_actions_init(&actions_);
  posix_spawnattr_init(&attr_);
  devnull_ = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (devnull_ < 0) {
    status_ = ErrnoStatus("open /dev/null");
    return;
  }
  for (int fd : {0, 1, 2}) posix_spawn_file_actions_adddup2(&actions_, devnull_, fd);
  posix_spawn_file_actions_adddup2(&actions_, listener, 3);  // clears FD_CLOEXEC, also for fd 3
  if (!cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions_, cwd.c_str());
  posix_spawnattr_setflags(&attr_,
                           POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr_, &none);
  posix_spawnattr_setsigdefault(&attr_, &all);
}

ServerSpawnSetup::~ServerSpawnSetup() {
  posix_spawn_file_actions_destroy(&actions_);
  posix_spawnattr_destroy(&attr_);
  if (devnull_ >= 0) close(devnull_);
}

}  // namespace berth::shim
