// Containers (metadata records) and tasks (their running processes) of the containerd API v1.
// Types are the API's messages. Errors keep the daemon's code: NotFound (no such container /
// task / exec), AlreadyExists (id taken), FailedPrecondition (wrong state, e.g. deleting a
// running task), InvalidArgument; Unavailable when berthd cannot be reached.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/cio.h"
#include "client/connection.h"
#include "client/meta.h"
#include "containerd/services/containers/v1/containers.grpc.pb.h"
#include "containerd/services/tasks/v1/tasks.grpc.pb.h"
#include "nlohmann/json.hpp"

namespace berth::client {

namespace ctrpb = ::containerd::services::containers::v1;
namespace taskpb = ::containerd::services::tasks::v1;
namespace tasktypes = ::containerd::v1::types;

// Any type URLs containerd uses for the runtime spec and an exec's process spec.
inline constexpr char kSpecTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Spec";
inline constexpr char kProcessTypeUrl[] =
    "types.containerd.io/opencontainers/runtime-spec/1/Process";
inline constexpr char kDefaultRuntime[] = "io.containerd.runc.v2";

struct NewContainer {
  std::string id;
  std::string image;  // image name (informational, like containerd)
  std::string runtime = kDefaultRuntime;
  std::string snapshotter;
  std::string snapshot_key;
  nlohmann::json spec;
  Labels labels;
};

class Containers {
 public:
  explicit Containers(std::shared_ptr<Connection> conn);

  // AlreadyExists for a taken id, InvalidArgument for a bad id.
  absl::StatusOr<ctrpb::Container> Create(const NewContainer& c, const CallOptions& call = {});
  absl::StatusOr<ctrpb::Container> Get(const std::string& id, const CallOptions& call = {});
  absl::StatusOr<std::vector<ctrpb::Container>> List(const std::vector<std::string>& filters = {},
                                                     const CallOptions& call = {});
  // Removes the record only (not its task or snapshot).
  absl::Status Delete(const std::string& id, const CallOptions& call = {});
  // The container's runtime spec. InvalidArgument when it is not JSON.
  static absl::StatusOr<nlohmann::json> SpecOf(const ctrpb::Container& c);

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<ctrpb::Containers::Stub> stub_;
};

struct ExitStatus {
  uint32_t code = 0;  // 128+signal when killed by a signal (shim convention)
  absl::Time exited_at;
};

class Tasks {
 public:
  explicit Tasks(std::shared_ptr<Connection> conn);

  // Creates the task of container `id` on `rootfs` mounts with stdio `io` (paths may be
  // empty: /dev/null, or "file:///path" for a log file). Returns the init pid.
  // FailedPrecondition / AlreadyExists when a task exists; NotFound for an unknown container.
  absl::StatusOr<uint32_t> Create(const std::string& id,
                                  const std::vector<tpb_types::Mount>& rootfs, const FifoSet& io,
                                  const CallOptions& call = {}, const std::string& runtime_path = "");
  // Starts the init process (exec_id "") or an exec. Returns its pid.
  absl::StatusOr<uint32_t> Start(const std::string& id, const std::string& exec_id = "",
                                 const CallOptions& call = {});
  // Blocks until the process exits (no default deadline). Call it before Start to never miss
  // a quick exit.
  absl::StatusOr<ExitStatus> Wait(const std::string& id, const std::string& exec_id = "",
                                  const CallOptions& call = {});
  // Sends `signal` (all: to every process of the container).
  absl::Status Kill(const std::string& id, uint32_t signal, bool all = false,
                    const std::string& exec_id = "", const CallOptions& call = {});
  // Deletes a stopped task; FailedPrecondition while it runs. Returns its exit status.
  absl::StatusOr<ExitStatus> Delete(const std::string& id, const CallOptions& call = {});
  absl::Status DeleteProcess(const std::string& id, const std::string& exec_id,
                             const CallOptions& call = {});
  // Adds exec `exec_id` running `process_spec` (ExecProcessSpec) with stdio `io`.
  absl::Status Exec(const std::string& id, const std::string& exec_id,
                    const nlohmann::json& process_spec, const FifoSet& io,
                    const CallOptions& call = {});
  absl::Status ResizePty(const std::string& id, const std::string& exec_id, uint32_t width,
                         uint32_t height, const CallOptions& call = {});
  absl::Status CloseStdin(const std::string& id, const std::string& exec_id = "",
                          const CallOptions& call = {});
  absl::StatusOr<tasktypes::Process> Get(const std::string& id, const std::string& exec_id = "",
                                         const CallOptions& call = {});
  absl::StatusOr<std::vector<tasktypes::Process>> List(const std::string& filter = "",
                                                       const CallOptions& call = {});
  // Raw metrics (cgroups v1/v2 stats as Any) of the containers matching `filters`.
  absl::StatusOr<std::vector<tpb_types::Metric>> Metrics(const std::vector<std::string>& filters,
                                                         const CallOptions& call = {});

 private:
  std::shared_ptr<Connection> conn_;
  std::unique_ptr<taskpb::Tasks::Stub> stub_;
};

// "created", "running", "stopped", "paused", "pausing", "unknown".
std::string TaskStatusName(tasktypes::Status s);

}  // namespace berth::client
