// The container operations the Task service needs, over one OCI bundle. Implementations:
// RuncCliRuntime (an OCI runtime's command line: berth-runc, runc) and ExecutorRuntime (the
// embedded berth::executor, run in short-lived forked children of the shim). Processes started here must
// end up as children of the shim (directly or by re-parenting to the subreaper): the
// Reaper reports their exits.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "core/mount/mount.h"

namespace berth::shim {

// fds the new process gets as 0, 1, 2 (-1: /dev/null). The caller keeps ownership.
struct StdioFds {
  int in = -1, out = -1, err = -1;
};

struct CreateOptions {
  std::string id;
  std::string bundle;          // absolute; holds config.json and rootfs/
  StdioFds stdio;              // ignored when console_socket is set
  std::string console_socket;  // unix socket path that receives the pty master ("" = no tty)
  bool no_pivot_root = false;
  bool no_new_keyring = false;
  // The rootfs (CreateTaskRequest.rootfs), mounted on <bundle>/rootfs by the runtime: where
  // only the container sees it when the runtime can (ExecutorRuntime), else in the shim's
  // namespace. Either way TaskService unmounts <bundle>/rootfs after Delete (a no-op when the
  // mount went with the container).
  std::vector<mount::Mount> rootfs;
};

struct ExecOptions {
  std::string id;            // container id
  std::string exec_id;
  std::string process_json;  // OCI runtime-spec Process, JSON
  StdioFds stdio;
  std::string console_socket;
};

// What Create reports: init's host pid, and the cgroups path of the bundle's config.json
// (linux.cgroupsPath) for OOM events and metrics.
struct Created {
  pid_t pid = 0;
  std::string cgroups_path;
};

// Both runtimes leave the init pid in <bundle>/init.pid, as runc does for containerd's shim:
// the `delete` command of a dead shim reports it.
inline constexpr char kInitPidFile[] = "init.pid";
absl::StatusOr<pid_t> ReadPidFile(const std::string& path);

class Runtime {
 public:
  virtual ~Runtime() = default;
  // Creates the container (init waits for Start).
  // Errors: AlreadyExists, InvalidArgument (bad bundle), Internal with the runtime's message.
  virtual absl::StatusOr<Created> Create(const CreateOptions& opts) = 0;
  virtual absl::Status Start(const std::string& id) = 0;
  // Starts an extra process in the running container. Returns its host pid.
  virtual absl::StatusOr<pid_t> Exec(const ExecOptions& opts) = 0;
  // Signals init (all = every process of the container). NotFound when not running.
  virtual absl::Status Kill(const std::string& id, int signal, bool all) = 0;
  virtual absl::Status Delete(const std::string& id, bool force) = 0;
  virtual absl::Status Pause(const std::string& id) = 0;
  virtual absl::Status Resume(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<pid_t>> Ps(const std::string& id) = 0;
  // resources_json: OCI LinuxResources.
  virtual absl::Status Update(const std::string& id, const std::string& resources_json) = 0;
};

}  // namespace berth::shim
