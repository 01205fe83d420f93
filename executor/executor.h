// berth::executor — an embedded OCI runtime (runtime spec 1.1, Linux) with runc's lifecycle:
//
//   Executor ex("/run/berth-runc");
//   BERTH_ASSIGN_OR_RETURN(pid_t pid, ex.Create("c1", {.bundle = "/b"}));  // blocked in init
//   BERTH_RETURN_IF_ERROR(ex.Start("c1"));                                  // execs the process
//   ex.Kill("c1", SIGKILL, false); /* the caller reaps pid */ ex.Delete("c1", false);
//
// The container's init is a child of the calling process (so a shim that calls Create
// in-process, or a subreaper above a short-lived berth-runc, reaps it and sees its exit status).
// State lives in <root>/<id>/ like runc's, so separate processes can drive one container.
// Methods are not thread-safe for the same id; different ids may be used concurrently.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/mount/mount.h"
#include "executor/cgroups.h"
#include "executor/spec.h"
#include "executor/state.h"

namespace berth::executor {

struct CreateOptions {
  std::string bundle;          // directory holding config.json; made absolute
  std::string pid_file;        // written with the init pid when non-empty
  std::string console_socket;  // unix socket receiving the pty master (process.terminal)
  int console_socket_fd = -1;  // or: an already connected socket (e.g. one end of a
                               // socketpair of an in-process shim); not closed by Create
  bool no_pivot = false;       // MS_MOVE + chroot instead of pivot_root (ramfs roots)
  int preserve_fds = 0;        // fds 3..3+N-1 stay open in the container
  // stdio of the container process; -1 = inherit the caller's.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  // Mounted on <bundle>/rootfs before anything else (empty: the rootfs is there already).
  std::vector<mount::Mount> rootfs_mounts;
  // The caller is a process that ends after Create (the shim's forked helper): it may leave
  // the host's mount namespace so that the rootfs is mounted for the container only
  // (rootfs_mount.h). Otherwise, or when the spec needs the host to see it, the rootfs is
  // mounted in the caller's namespace and the caller unmounts it after Delete.
  bool private_rootfs = false;
};

struct ExecOptions {
  Process process;
  bool detach = true;          // false: wait and return the exit status
  std::string pid_file;
  std::string console_socket;
  int console_socket_fd = -1;  // as in CreateOptions
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
};

struct ContainerState {
  std::string oci_version = "1.0.2";
  std::string id;
  pid_t pid = 0;
  std::string status;  // created running paused stopped
  std::string bundle, rootfs, created, owner;
  std::map<std::string, std::string> annotations;
};

// runc's `state` JSON for a state (also what hooks read on stdin).
std::string StateToJson(const ContainerState& s, bool pretty);

class Executor {
 public:
  explicit Executor(std::string root) : store_(std::move(root)) {}

  // Sets up the container and leaves its init blocked until Start. Returns the init pid.
  // AlreadyExists (id in use), NotFound (bundle/rootfs), InvalidArgument (config), or the
  // failing setup step's errno as a Status ("mount /proc: Operation not permitted").
  absl::StatusOr<pid_t> Create(const std::string& id, const CreateOptions& opts);
  // Lets a created container exec its process and runs the poststart hooks.
  // FailedPrecondition unless "created".
  absl::Status Start(const std::string& id);
  // Start without the poststart hooks: for callers that know the spec has none. Reads no
  // state unless the init is not waiting (then the same errors as Start).
  absl::Status ReleaseInit(const std::string& id);
  // Create + Start; with detach=false waits for the process (forwarding SIGINT, SIGTERM,
  // SIGHUP, SIGQUIT, SIGUSR1/2, SIGWINCH to it), deletes the container and returns the exit
  // status (128+signal when killed).
  absl::StatusOr<int> Run(const std::string& id, const CreateOptions& opts, bool detach);
  // NotFound when the container does not exist.
  absl::StatusOr<ContainerState> State(const std::string& id);
  absl::StatusOr<std::vector<ContainerState>> List();
  // Signals init (or, with all, every process of the cgroup). FailedPrecondition when stopped.
  absl::Status Kill(const std::string& id, int signal, bool all);
  // Removes a stopped or created container (force: also a running/paused one, killing it).
  absl::Status Delete(const std::string& id, bool force);
  // Runs another process in the container's namespaces and cgroup. Detached: returns its pid
  // (a child of the caller). Attached: waits and returns its exit status.
  absl::StatusOr<int> Exec(const std::string& id, const ExecOptions& opts);
  absl::Status Pause(const std::string& id);
  absl::Status Resume(const std::string& id);
  absl::StatusOr<std::vector<pid_t>> Ps(const std::string& id);
  absl::Status Update(const std::string& id, const Resources& resources);
  absl::StatusOr<CgroupStats> Stats(const std::string& id);

  StateStore& store() { return store_; }

 private:
  absl::StatusOr<pid_t> CreateInternal(const std::string& id, const CreateOptions& opts,
                                       bool with_fifo, bool detached_run);
  absl::StatusOr<ContainerState> StateOf(const StoredState& s);
  absl::Status Destroy(const StoredState& s);

  StateStore store_;
};

}  // namespace berth::executor
