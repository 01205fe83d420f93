#include "shim-v2/shim/executor_runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "executor/executor.h"
#include "executor/spec.h"
#include "shim-v2/shim/forked.h"
#include "shim-v2/shim/stats.h"

namespace berth::shim {

ExecutorRuntime::ExecutorRuntime(std::string root)
    : ex_(std::make_unique<executor::Executor>(std::move(root))),
      devnull_(open("/dev/null", O_RDWR | O_CLOEXEC)) {}

ExecutorRuntime::~ExecutorRuntime() {
  if (devnull_ >= 0) close(devnull_);
}

absl::StatusOr<Created> ExecutorRuntime::Create(const CreateOptions& opts) {
  executor::CreateOptions c;
  c.bundle = opts.bundle;
  c.console_socket = opts.console_socket;
  c.no_pivot = opts.no_pivot_root;
  c.rootfs_mounts = opts.rootfs;
  c.private_rootfs = true;  // the forked child below ends after Create
  if (opts.console_socket.empty()) {
    c.stdin_fd = Fd(opts.stdio.in);
    c.stdout_fd = Fd(opts.stdio.out);
    c.stderr_fd = Fd(opts.stdio.err);
  } else {
    c.stdin_fd = c.stdout_fd = c.stderr_fd = devnull_;
  }
  // In the child: "<pid>\n<poststart hooks: 0 or 1>\n<cgroups path>".
  BERTH_ASSIGN_OR_RETURN(std::string answer, RunForked([&]() -> absl::StatusOr<std::string> {
    BERTH_ASSIGN_OR_RETURN(pid_t pid, ex_->Create(opts.id, c));
    BERTH_RETURN_IF_ERROR(fs::WriteFileReplace(absl::StrCat(opts.bundle, "/", kInitPidFile),
                                               std::to_string(pid), 0644));
    absl::StatusOr<BundleInfo> info = ReadBundleInfo(opts.bundle);
    // Without a readable config.json Start takes the path that reads it.
    bool hooks = !info.ok() || info->poststart_hooks;
    return absl::StrCat(pid, "\n", hooks ? 1 : 0, "\n", info.ok() ? info->cgroups_path : "");
  }));
  std::vector<std::string> lines = absl::StrSplit(answer, absl::MaxSplits('\n', 2));
  Created created;
  if (lines.size() != 3 || !absl::SimpleAtoi(lines[0], &created.pid)) {
    return absl::InternalError(absl::StrCat("create ", opts.id, ": bad helper answer"));
  }
  if (lines[1] == "1") poststart_hooks_.insert(opts.id);
  created.cgroups_path = lines[2];
  return created;
}

absl::Status ExecutorRuntime::Start(const std::string& id) {
  // Without poststart hooks a start is opening the init's fifo and reading one byte: done here,
  // not in a forked helper, since the init's exec - and so the container's exit - waits for it.
  if (poststart_hooks_.count(id) == 0) return ex_->ReleaseInit(id);
  return RunForked([&]() -> absl::StatusOr<std::string> {
           BERTH_RETURN_IF_ERROR(ex_->Start(id));
           return std::string();
         }).status();
}

absl::StatusOr<pid_t> ExecutorRuntime::Exec(const ExecOptions& opts) {
  executor::ExecOptions e;
  e.detach = true;
  e.console_socket = opts.console_socket;
  if (opts.console_socket.empty()) {
    e.stdin_fd = Fd(opts.stdio.in);
    e.stdout_fd = Fd(opts.stdio.out);
    e.stderr_fd = Fd(opts.stdio.err);
  } else {
    e.stdin_fd = e.stdout_fd = e.stderr_fd = devnull_;
  }
  BERTH_ASSIGN_OR_RETURN(std::string answer, RunForked([&]() -> absl::StatusOr<std::string> {
    BERTH_ASSIGN_OR_RETURN(e.process, executor::ParseProcess(opts.process_json));
    BERTH_ASSIGN_OR_RETURN(int pid, ex_->Exec(opts.id, e));
    return std::to_string(pid);
  }));
  pid_t pid = 0;
  if (!absl::SimpleAtoi(answer, &pid)) {
    return absl::InternalError(absl::StrCat("exec ", opts.exec_id, ": bad helper answer"));
  }
  return pid;
}

absl::Status ExecutorRuntime::Kill(const std::string& id, int signal, bool all) {
  return ex_->Kill(id, signal, all);
}

absl::Status ExecutorRuntime::Delete(const std::string& id, bool force) {
  absl::Status st = ex_->Delete(id, force);
  if (st.ok() || absl::IsNotFound(st)) poststart_hooks_.erase(id);
  return st;
}

absl::Status ExecutorRuntime::Pause(const std::string& id) { return ex_->Pause(id); }
absl::Status ExecutorRuntime::Resume(const std::string& id) { return ex_->Resume(id); }

absl::StatusOr<std::vector<pid_t>> ExecutorRuntime::Ps(const std::string& id) {
  return ex_->Ps(id);
}

absl::Status ExecutorRuntime::Update(const std::string& id, const std::string& resources_json) {
  BERTH_ASSIGN_OR_RETURN(executor::Resources r, executor::ParseResources(resources_json));
  return ex_->Update(id, r);
}

}  // namespace berth::shim
