#include "cri/streaming/handlers.h"

#include "absl/strings/str_cat.h"

namespace berth::cri::streaming {

absl::StatusOr<int> RunCommand(Runtime& runtime, const CommandRequest& cmd, Streams& streams) {
  if (!cmd.attach) return runtime.Exec(cmd.container_id, cmd.cmd, streams);
  absl::Status st = runtime.Attach(cmd.container_id, streams);
  if (!st.ok()) return st;
  return 0;
}

absl::Status ForwardOnePort(Runtime& runtime, const std::string& sandbox, int32_t port,
                            int runtime_fd) {
  if (port < 1 || port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("invalid port ", port));
  }
  return runtime.PortForward(sandbox, port, runtime_fd);
}

}  // namespace berth::cri::streaming
