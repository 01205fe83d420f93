// The runtime v2 task manager (io.containerd.runtime.v2.task): bundles, starting any v2 shim
// by runtime name, the tasks' shim connections, re-attach after a daemon restart, cleanup of
// dead shims, and the exit status of each task recorded from its /tasks/exit event.
//
// Mirrors containerd 1.6 runtime/v2 (manager.go, binary.go, shim.go, shim_load.go).
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "containerd/runtime/v2/task/shim.pb.h"
#include "google/protobuf/any.pb.h"
#include "plugins/events/exchange.h"
#include "shim-v2/manager/binary.h"
#include "shim-v2/manager/bundle.h"
#include "shim-v2/manager/cgroup_warmer.h"
#include "shim-v2/manager/shim.h"
#include "shim-v2/manager/trash.h"

namespace berth::runtime {

struct ManagerOptions {
  std::string state;  // <daemon state>/io.containerd.runtime.v2.task (bundles)
  std::string root;   // <daemon root>/io.containerd.runtime.v2.task (work dirs)
  std::string grpc_address, ttrpc_address;
  std::string publish_binary;  // berthd itself
  std::string self_dir;        // where berthd lives: shims are looked up here first
  bool debug = false;          // pass -debug to shims
  // How long a shim found after a restart has to answer Connect; one that accepted the
  // connection gets two more tries, each longer (manager.cc: LoadOne).
  absl::Duration load_timeout = absl::Seconds(5);
};

struct CreateOpts {
  std::string spec;     // config.json bytes
  std::string runtime;  // runtime name ("io.containerd.runc.v2") or absolute shim path
  google::protobuf::Any runtime_options;  // the container's (type_url "" = none)
  google::protobuf::Any task_options;     // the request's; wins over runtime_options
  std::vector<::containerd::types::Mount> rootfs;
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
  std::string checkpoint;  // image path, "" = none
};

class TaskManager {
 public:
  // `exchange` receives the events of dead-shim cleanup and feeds exit recording and the
  // cgroup warm-up.
  TaskManager(ManagerOptions options, std::shared_ptr<events::Exchange> exchange);
  ~TaskManager();

  // Re-attaches to the shims of existing bundles (in parallel); dead ones are cleaned up with
  // the shim's `delete` and their exit is published. A shim that accepts the connection but is
  // slow to answer gets three tries (options().load_timeout x1, x2, x3) before it counts as
  // dead. Never fails as a whole.
  void LoadExisting();

  // Creates the bundle, starts the shim, calls Task.Create. AlreadyExists when the task exists;
  // NotFound / InvalidArgument for the runtime; the shim's errors otherwise (everything created
  // is cleaned up on failure).
  // `pid` (optional) receives the init process's pid.
  absl::StatusOr<std::shared_ptr<Shim>> Create(const std::string& ns, const std::string& id,
                                               const CreateOpts& opts, uint32_t* pid = nullptr);
  // NotFound ("task X not found").
  absl::StatusOr<std::shared_ptr<Shim>> Get(const std::string& ns, const std::string& id);
  std::vector<std::shared_ptr<Shim>> List(const std::string& ns);

  // Task.Delete on the shim, then Shutdown, close and remove the bundle. NotFound; the shim's
  // FailedPrecondition for a running task. A dead shim is cleaned up with its `delete` command
  // and the recorded exit (if any) is returned.
  absl::StatusOr<Exit> Delete(const std::string& ns, const std::string& id);

  // The init process's exit as recorded from /tasks/exit, if it has exited.
  std::optional<Exit> RecordedExit(const std::string& ns, const std::string& id);

  const ManagerOptions& options() const { return options_; }

  // The cgroup warm-up's moves so far (tests).
  int CgroupWarmMovesForTest() { return cgroup_warmer_->moves(); }

 private:
  std::string Key(const std::string& ns, const std::string& id) const { return ns + "/" + id; }
  ShimCommand CommandFor(const Bundle& bundle, const std::string& binary) const;
  void Track(const std::shared_ptr<Shim>& shim);
  void OnDeadShim(const std::string& ns, const std::string& id);
  void CleanupDead(const Bundle& bundle, const std::string& binary, bool publish);
  void LoadOne(const Bundle& bundle);

  ManagerOptions options_;
  std::shared_ptr<events::Exchange> exchange_;
  absl::Mutex mu_;
  std::map<std::string, std::shared_ptr<Shim>> tasks_ ABSL_GUARDED_BY(mu_);
  // Shared with the exchange's listener, which warms on /containers/create and
  // /tasks/exec-added: the earlier the warm-up, the more it hides.
  std::shared_ptr<CgroupWarmer> cgroup_warmer_ = std::make_shared<CgroupWarmer>();
  // Deleted bundles and work dirs, removed in the background (names starting with '.' are
  // never namespaces, so the start-up scan skips them).
  Trash state_trash_{Trash::DirIn(options_.state)};
  Trash root_trash_{Trash::DirIn(options_.root)};
};

}  // namespace berth::runtime
