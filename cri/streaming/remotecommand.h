// The Kubernetes remote command protocol (exec/attach), independent of the transport:
// the stdio socketpairs handed to the Runtime, the output pumps, the resize channel's JSON
// stream and the status written on the error channel at the end (v1 text, v4 JSON).
// websocket_handlers.cc and spdy_handlers.cc map channels/streams onto it.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/notification.h"
#include "cri/streaming/runtime.h"

namespace berth::cri::streaming {

// Channel numbers of channel.k8s.io; SPDY names the same streams via the streamType header.
enum class Channel : uint8_t { kStdin = 0, kStdout = 1, kStderr = 2, kError = 3, kResize = 4 };

struct CommandOptions {
  bool stdin = false;
  bool stdout = false;
  bool stderr = false;
  bool tty = false;
};

// How the final status is written on the error channel: v1-v3 send only a failure's text;
// v4 and v5 send a JSON metav1.Status whose NonZeroExitCode cause carries the exit code.
enum class StatusFormat { kText, kJson };

// The error-channel payload for a finished command: `result` is the exit code or the error
// that stopped it. Returns "" when nothing is to be sent (text format, success).
std::string FormatStatus(StatusFormat format, const absl::StatusOr<int>& result);

// Splits the resize channel's byte stream into {"Width":w,"Height":h} objects.
// Objects may arrive split across frames or several per frame; malformed ones are skipped.
class ResizeDecoder {
 public:
  std::vector<TerminalSize> Feed(absl::string_view bytes);

 private:
  std::string pending_;
};

// Where the session's output goes: implemented per transport.
class CommandOutput {
 public:
  virtual ~CommandOutput() = default;
  // Sends stdout or stderr bytes. An error means the client is gone.
  virtual absl::Status Send(Channel channel, absl::string_view data) = 0;
};

// One exec/attach: owns the socketpairs whose far ends the Runtime gets.
class CommandSession {
 public:
  explicit CommandSession(CommandOptions options) : options_(options) {}
  ~CommandSession();
  CommandSession(const CommandSession&) = delete;
  CommandSession& operator=(const CommandSession&) = delete;

  // Creates the socketpairs. Internal (with errno text) when the system is out of fds.
  absl::Status Init();

  // Transport readers call these as client input arrives (any thread).
  // Blocks while the runtime does not read; Unavailable when stdin is closed or absent.
  absl::Status WriteStdin(absl::string_view data);
  void CloseStdin();  // EOF for the runtime's stdin
  void FeedResize(absl::string_view bytes);
  void ClientGone();  // the client hung up: notifies Streams::client_gone, closes stdin

  // Calls `fn` with the Streams, copies stdout/stderr to `out` until the runtime's ends are
  // closed, and returns what `fn` returned. Output written after the client left is drained
  // and dropped, so the runtime never blocks on a dead session.
  absl::StatusOr<int> Run(CommandOutput& out,
                          const std::function<absl::StatusOr<int>(Streams&)>& fn);

  const CommandOptions& options() const { return options_; }

 private:
  const CommandOptions options_;
  // [0] is ours, [1] the runtime's; -1 when the channel is off.
  int stdin_[2] = {-1, -1};
  int stdout_[2] = {-1, -1};
  int stderr_[2] = {-1, -1};
  ResizeQueue resize_;
  ResizeDecoder resize_decoder_;
  absl::Mutex resize_mu_;
  absl::Notification client_gone_;
};

}  // namespace berth::cri::streaming
