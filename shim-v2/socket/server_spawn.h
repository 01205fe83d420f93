// How a shim's serving process is spawned on its claimed socket - by the shim's `start` and by
// berthd for its own shim (shim-v2/manager/own_shim.h) alike: stdin, stdout and stderr on
// /dev/null (whoever reads the spawner's output until EOF must not wait for the server), the
// listening socket as fd 3, a session of its own, default signal dispositions and no blocked
// signal; optionally a working directory.
#pragma once

#include <spawn.h>

#include <string>

#include "absl/status/status.h"

namespace berth::shim {

class ServerSpawnSetup {
 public:
  // `cwd` empty: the server inherits the spawner's. Check status() before using the setup.
  ServerSpawnSetup(int listener, const std::string& cwd);
  ~ServerSpawnSetup();
  ServerSpawnSetup(const ServerSpawnSetup&) = delete;
  ServerSpawnSetup& operator=(const ServerSpawnSetup&) = delete;

  const absl::Status& status() const { return status_; }
  const posix_spawn_file_actions_t* actions() const { return &actions_; }
  const posix_spawnattr_t* attr() const { return &attr_; }

 private:
  absl::Status status_;
  int devnull_ = -1;
  posix_spawn_file_actions_t actions_;
  posix_spawnattr_t attr_;
};

}  // namespace berth::shim
