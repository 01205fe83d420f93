// Runtime over an OCI runtime command line (runc's verbs and flags): berth-runc, runc, crun.
// State lives under `root` (runc --root); errors carry the runtime's last log message.
#pragma once

#include <string>

#include "shim-v2/shim/runtime.h"

namespace berth::shim {

class RuncCliRuntime : public Runtime {
 public:
  // binary: path or name in PATH. root: the runtime's state dir. work_dir: where pid files,
  // process.json files and the runtime's log.json go (the bundle).
  RuncCliRuntime(std::string binary, std::string root, std::string work_dir);

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
  std::vector<std::string> Base() const;
  // Runs the runtime with `args`; non-zero exit -> error carrying its output / log message.
  absl::Status Exec0(std::vector<std::string> args, std::string* out = nullptr,
                     int stdin_fd = -1);
  std::string LastLogError() const;

  std::string binary_, root_, work_dir_;
};

}  // namespace berth::shim
