// OCI hooks: each runs with the container state JSON on stdin and must exit 0 within its
// timeout.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "executor/executor.h"
#include "executor/plan.h"
#include "executor/spec.h"

namespace berth::executor {

// Runs the hooks in order; stops at the first failure. Unknown (exit != 0, timeout: the hook
// is killed) -> Internal / DeadlineExceeded naming the hook path.
absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& state_json,
                      absl::string_view phase);

// The plan for hooks the init runs itself (createContainer, startContainer): `state` is the
// container state they read on stdin; its pid is left for the init to fill in. Call
// HookPlan::Finalize once the plan is in its final place.
HookPlan BuildHookPlan(const std::vector<Hook>& hooks, const ContainerState& state);

}  // namespace berth::executor
