// Shim v2 task messages <-> containerd.services.tasks.v1 messages.
#pragma once

#include "containerd/runtime/v2/task/shim.pb.h"
#include "containerd/services/tasks/v1/tasks.pb.h"
#include "plugins/containers/containers.h"
#include "shim-v2/manager/manager.h"

namespace berth::services {

// The runtime's CreateOpts from the container record and the request. InvalidArgument when
// the container has no spec.
absl::StatusOr<runtime::CreateOpts> ToCreateOpts(const containers::Container& container,
                                                 const ::containerd::services::tasks::v1::CreateTaskRequest& req);

// A Process as `ctr task ls` shows it. `container_id` is the task's; the state's id/exec id
// name the process (the exec id for an exec).
void ToProcess(const std::string& container_id, const ::containerd::task::v2::StateResponse& state,
               ::containerd::v1::types::Process* out);

}  // namespace berth::services
