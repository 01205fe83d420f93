// The runc-like state directory: <root>/<id>/state.json (+ exec.fifo while created).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::executor {

struct StoredState {
  std::string id, bundle, rootfs;
  std::string created;  // RFC 3339 with nanoseconds, UTC
  pid_t pid = 0;
  uint64_t start_time = 0;  // /proc/<pid>/stat field 22, guards against pid reuse
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> cgroup_paths;  // CgroupManager::Paths()
  bool detached_run = false;
  // Whether config.json had poststop hooks at create: Delete reads the spec only then. True
  // for a state saved without the field.
  bool poststop_hooks = true;
};

class StateStore {
 public:
  explicit StateStore(std::string root) : root_(std::move(root)) {}

  const std::string& root() const { return root_; }
  std::string Dir(const std::string& id) const { return root_ + "/" + id; }
  std::string FifoPath(const std::string& id) const { return Dir(id) + "/exec.fifo"; }

  // Creates <root>/<id>. InvalidArgument for a bad id, AlreadyExists if it exists.
  absl::Status Reserve(const std::string& id);
  absl::Status Save(const StoredState& state);
  // NotFound ("container <id> does not exist") when absent.
  absl::StatusOr<StoredState> Load(const std::string& id) const;
  // Removes the directory; OK when absent.
  absl::Status Remove(const std::string& id);
  absl::StatusOr<std::vector<std::string>> List() const;

 private:
  std::string root_;
};

// Start time of a live (non-zombie) process, 0 when gone or a zombie.
uint64_t ProcessStartTime(pid_t pid);
// Now as RFC 3339 with nanoseconds ("2006-01-02T15:04:05.999999999Z").
std::string NowRfc3339Nano();

}  // namespace berth::executor
