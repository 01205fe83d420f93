// A ttrpc client (ttrpc 1.1 wire protocol, unary calls). Thread-safe: many calls may be in
// flight at once on one connection; stream ids are odd and increasing. One reader thread (small
// stack) matches responses to callers.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"

namespace berth::ttrpc {

class Client {
 public:
  // Connects to a unix socket: "unix:///path", "/path", or "@abstract". Errors: errno codes
  // of socket/connect (NotFound when the path does not exist).
  static absl::StatusOr<std::unique_ptr<Client>> Dial(const std::string& address);

  // Wraps an already-connected socket (takes ownership).
  explicit Client(int fd);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  using Metadata = std::vector<std::pair<std::string, std::string>>;

  // Calls service/method with `payload`. The deadline (timeout > 0) is sent as timeout_nano and
  // enforced locally: DeadlineExceeded when no response comes in time. Unavailable once the
  // connection is closed. Other codes come from the server's google.rpc.Status.
  absl::StatusOr<std::string> Call(const std::string& service, const std::string& method,
                                   const std::string& payload, const Metadata& metadata = {},
                                   absl::Duration timeout = absl::ZeroDuration());

  // Closes the connection; pending calls fail with Unavailable.
  void Close();

 private:
  struct Waiter {
    bool done = false;
    absl::Status status;
    std::string payload;
  };
  struct Shared;
  static void ReadLoop(std::shared_ptr<Shared> shared);

  std::shared_ptr<Shared> shared_;
};

}  // namespace berth::ttrpc
