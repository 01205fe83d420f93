// Runs one piece of the shim's work in a short-lived forked child, the way containerd's shim
// runs `runc create` / `runc exec` as separate processes. Why: the executor's code (config and
// state JSON, mounts, namespaces, seccomp, cgroups) is most of the shim's text. Run in the
// shim itself, every page of it it touches stays mapped in the shim's page tables - its RSS -
// for the container's whole life; in a child those pages go with the child. Its heap churn
// goes too, and a crash in that code takes only the child. Processes the work starts end up
// children of the shim when the child exits: the shim is a child subreaper (reaper.h).
#pragma once

#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"

namespace berth::shim {

// Forks, runs work() in the child and hands its result back over a pipe: the returned bytes,
// or its error status (code and message). The calling thread waits for the child itself (the
// Reaper only reaps pids registered with it); the child leaves with _exit, running no exit
// handlers and flushing nothing of ours. Costs a fork: ~0.1 ms for the static shim.
// work must not need other threads of the shim or locks they may hold: only the calling
// thread exists in the child. Internal when the child dies without an answer.
absl::StatusOr<std::string> RunForked(absl::FunctionRef<absl::StatusOr<std::string>()> work);

}  // namespace berth::shim
