// containerd.task.v2.Task over a Runtime: the shim's ttrpc service. One service may hold several
// containers (shim grouping by sandbox). Each process (init or exec) has a state machine
// created -> running -> stopped; exits come from the Reaper. Events go to the Publisher.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "shim-v2/shim/events.h"
#include "shim-v2/shim/mount_ns_pin.h"
#include "shim-v2/shim/runtime.h"
#include "shim-v2/shim/stdio.h"
#include "shim-v2/ttrpc/server.h"

namespace berth::shim {

// Builds the Runtime for a container from the bundle and CreateTaskRequest's runc Options
// (binary_name, root). Injected so tests can use a fake.
using RuntimeFactory = std::function<std::unique_ptr<Runtime>(
    const std::string& bundle, const std::string& binary_name, const std::string& root)>;

class TaskService {
 public:
  // `on_shutdown` runs when Shutdown asks the shim to exit; `on_started`, when optional, after
  // a task's init process has started (under the service's lock: it must only take note).
  TaskService(std::string ns, Publisher* publisher, RuntimeFactory factory,
              std::function<void()> on_shutdown, std::function<void()> on_started = nullptr);

  // Registers all Task methods on `server` under "containerd.task.v2.Task".
  void Register(ttrpc::Server& server);

  // Handlers, public for tests: serialized request -> serialized response.
  absl::StatusOr<std::string> Handle(const std::string& method, const ttrpc::CallContext& ctx,
                                     const std::string& payload);

 private:
  struct Process {
    std::string exec_id;  // "" for init
    pid_t pid = 0;
    int status = 1;  // containerd.v1.types.Status: CREATED
    uint32_t exit_status = 0;
    absl::Time exited_at;
    bool exited = false;
    StdioPaths stdio;
    std::string spec_json;  // exec processes
    std::unique_ptr<ProcessIo> io;
  };
  struct Container {
    std::string id, bundle;
    std::string cgroups_path;  // config.json's linux.cgroupsPath ("" when it has none)
    bool rootfs_mounts = false;  // the request had some: <bundle>/rootfs is unmounted at Delete
    bool paused = false;
    std::unique_ptr<Runtime> runtime;
    // Released once the init's exit is reported, or at Delete (mount_ns_pin.h).
    std::shared_ptr<MountNamespacePin> mount_ns;
    std::shared_ptr<Process> init;
    std::map<std::string, std::shared_ptr<Process>> execs;
  };

  using Method = absl::StatusOr<std::string> (TaskService::*)(const ttrpc::CallContext&,
                                                              const std::string&);
  absl::StatusOr<std::string> State(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Create(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Start(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Delete(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Pids(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Pause(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Resume(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Checkpoint(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Kill(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Exec(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> ResizePty(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> CloseIO(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Update(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Wait(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Stats(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Connect(const ttrpc::CallContext&, const std::string&);
  absl::StatusOr<std::string> Shutdown(const ttrpc::CallContext&, const std::string&);

  // NotFound when the container or exec does not exist.
  absl::StatusOr<std::shared_ptr<Process>> FindProcess(const std::string& id,
                                                       const std::string& exec_id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::StatusOr<Container*> FindContainer(const std::string& id)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void OnExit(const std::string& container_id, std::shared_ptr<Process> p, int code);
  void ReportExit(const std::string& container_id, Process& p, int code)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WatchExit(const std::string& container_id, std::shared_ptr<Process> p);

  std::string ns_;
  Publisher* publisher_;
  RuntimeFactory factory_;
  std::function<void()> on_shutdown_;
  std::function<void()> on_started_;
  std::map<std::string, Method> methods_;
  absl::Mutex mu_;
  std::map<std::string, Container> containers_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::shim
