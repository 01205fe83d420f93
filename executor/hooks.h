// OCI hooks: each runs with the container state JSON on stdin and must exit 0 within its
// timeout.
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "executor/spec.h"

namespace berth::executor {

// Runs the hooks in order; stops at the first failure. Unknown (exit != 0, timeout: the hook
// is killed) -> Internal / DeadlineExceeded naming the hook path.
absl::Status RunHooks(const std::vector<Hook>& hooks, const std::string& state_json,
                      absl::string_view phase);

}  // namespace berth::executor
