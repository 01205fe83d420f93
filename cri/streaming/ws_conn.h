// A channel.k8s.io WebSocket connection, server side: the upgrade handshake, subprotocol
// negotiation, the one-byte channel prefix (raw or base64 text framing), control frames,
// the close handshake and the idle timeout.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cri/streaming/http.h"

namespace berth::cri::streaming {

class WsChannelConn {
 public:
  // Completes the upgrade of `req` on `conn`, choosing the first subprotocol the client
  // offers that is in `supported` ("" in `supported` admits clients that offer none).
  // On failure writes the HTTP error itself and returns InvalidArgument (bad handshake) or
  // FailedPrecondition (no common subprotocol).
  static absl::StatusOr<std::unique_ptr<WsChannelConn>> Accept(
      Conn& conn, const HttpRequest& req, std::string leftover,
      const std::vector<std::string>& supported, absl::Duration idle_timeout);

  const std::string& protocol() const { return protocol_; }

  // Sends `data` on `channel`. Thread-safe. Unavailable once the connection is closing/gone.
  absl::Status Send(uint8_t channel, absl::string_view data);

  // Reads until the client closes, the connection fails or idles out. Calls `on_message`
  // for each data message with its channel and payload (decoded from base64 if needed);
  // answers pings and the close handshake itself. Run it on one thread only.
  void ReadLoop(const std::function<void(uint8_t, std::string)>& on_message);

  // Starts the close handshake (status 1000) if not started. Thread-safe.
  void Close(uint16_t code = 1000, absl::string_view reason = "");
  // Forces the socket down, waking ReadLoop.
  void Shutdown() { conn_.Shutdown(); }

 private:
  WsChannelConn(Conn& conn, std::string leftover, std::string protocol, absl::Duration idle);
  absl::Status WriteFrame(const std::string& frame);

  Conn& conn_;
  std::string buf_;
  const std::string protocol_;
  const bool base64_;
  const absl::Duration idle_timeout_;
  absl::Mutex write_mu_;
  std::atomic<bool> close_sent_{false};
  std::atomic<int64_t> last_activity_ns_{0};
};

}  // namespace berth::cri::streaming
