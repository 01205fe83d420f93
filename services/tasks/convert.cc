#include "services/tasks/convert.h"

#include "absl/strings/str_cat.h"

namespace berth::services {

absl::StatusOr<runtime::CreateOpts> ToCreateOpts(
    const containers::Container& container,
    const ::containerd::services::tasks::v1::CreateTaskRequest& req) {
  if (container.spec.value().empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("container \"", container.id, "\" has no spec"));
  }
  runtime::CreateOpts opts;
  opts.spec = container.spec.value();
  opts.runtime = req.runtime_path().empty() ? container.runtime_name : req.runtime_path();
  opts.runtime_options = container.runtime_options;
  if (req.has_options()) opts.task_options = req.options();
  opts.rootfs.assign(req.rootfs().begin(), req.rootfs().end());
  opts.stdin_path = req.stdin();
  opts.stdout_path = req.stdout();
  opts.stderr_path = req.stderr();
  opts.terminal = req.terminal();
  return opts;
}

void ToProcess(const std::string& container_id, const ::containerd::task::v2::StateResponse& state,
               ::containerd::v1::types::Process* out) {
  out->set_container_id(container_id);
  out->set_id(state.exec_id().empty() ? state.id() : state.exec_id());
  out->set_pid(state.pid());
  out->set_status(state.status());
  out->set_stdin(state.stdin());
  out->set_stdout(state.stdout());
  out->set_stderr(state.stderr());
  out->set_terminal(state.terminal());
  out->set_exit_status(state.exit_status());
  if (state.has_exited_at()) *out->mutable_exited_at() = state.exited_at();
}

}  // namespace berth::services
