// Runtime over berth::executor, embedded: no runtime binary is exec'd. Create, Exec and a Start
// with poststart hooks run in forked children of the shim (forked.h), like `runc
// create/start/exec` under containerd's shim but without an exec: the container's processes
// re-parent to the shim when the child exits. Kill, Delete, a plain Start and the rest are short
// and run in the shim. State lives under
// `root`, in runc's layout, so `berth-runc --root <root>` can inspect the same containers.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "shim-v2/shim/runtime.h"

namespace berth::executor {
class Executor;
}

namespace berth::shim {

class ExecutorRuntime : public Runtime {
 public:
  explicit ExecutorRuntime(std::string root);
  ~ExecutorRuntime() override;

  absl::StatusOr<Created> Create(const CreateOptions& opts) override;
  absl::Status Start(const std::string& id) override;
  absl::StatusOr<pid_t> Exec(const ExecOptions& opts) override;
  absl::Status Kill(const std::string& id, int signal, bool all) override;
  absl::Status Delete(const std::string& id, bool force) override;
  absl::Status Pause(const std::string& id) override;
  absl::Status Resume(const std::string& id) override;
  absl::StatusOr<std::vector<pid_t>> Ps(const std::string& id) override;
  absl::Status Update(const std::string& id, const std::string& resources_json) override;

 private:
  int Fd(int fd) const { return fd >= 0 ? fd : devnull_; }

  std::unique_ptr<executor::Executor> ex_;
  int devnull_ = -1;  // absent stdio is /dev/null, never the shim's own (the log fifo)
  std::set<std::string> poststart_hooks_;  // containers whose spec has poststart hooks
};

}  // namespace berth::shim
