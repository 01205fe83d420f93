// Helpers shared by the executor's .cc files; not part of the public API.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "executor/plan.h"

namespace berth::executor {

// "pid" -> CLONE_NEWPID ... ; 0 for an unknown type.
int NamespaceFlag(absl::string_view type);
// "/proc/self/ns/<name>" file name for a CLONE_NEW* flag.
const char* NamespaceProcName(int flag);

// Child side, async-signal-safe: default dispositions and an empty signal mask, and
// close-on-exec for every fd >= `first` (close_range; ignored where unsupported).
void ResetSignalsInChild();
void MarkCloexecFrom(int first);

// Absolute, without requiring existence (cwd + path for a relative one).
std::string AbsolutePath(const std::string& path);
// Writes /proc/<pid>/<file>.
absl::Status WriteProcFile(pid_t pid, const std::string& file, const std::string& data);

// Parent side of the sync socket. ReadChildReady: OK on a "ready" message, the child's error
// as a Status, Internal when the child died silently. ReadChildExec: OK on EOF (the exec
// closed the socket), else the child's error.
absl::Status ReadChildReady(int fd, const RootfsPlan* rootfs, const ProcessPlan* process);
absl::Status ReadChildExec(int fd, const ProcessPlan* process);

}  // namespace berth::executor
