// A ttrpc server (ttrpc 1.1 wire protocol, unary calls only).
//
// One reader thread per connection (small stack); each request runs on its own short-lived
// thread, so a long call (containerd's Task.Wait) never blocks other calls on the same
// connection. Responses are written under a per-connection lock. A malformed or oversized frame
// closes that connection only; an undecodable Request or an even stream id gets an
// InvalidArgument response, as Go's ttrpc does.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "shim-v2/ttrpc/context.h"

namespace berth::ttrpc {

// A method handler: request payload bytes -> response payload bytes, or a Status whose code
// travels to the client as a gRPC code.
using Handler = std::function<absl::StatusOr<std::string>(const CallContext&, const std::string&)>;

class Server {
 public:
  Server() = default;
  // Shuts down and waits (up to 5 s) for connection and handler threads to finish.
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers "service"/"method" (e.g. "containerd.task.v2.Task", "Create"). Call before
  // serving. Unregistered methods answer Unimplemented.
  void Register(const std::string& service, const std::string& method, Handler handler);

  // Accepts connections on a listening unix socket until Shutdown(). Blocks. Takes ownership of
  // listen_fd. Returns OK after Shutdown(), an errno Status if accept fails otherwise.
  absl::Status Serve(int listen_fd);

  // Serves one already-connected socket on a new thread (takes ownership of fd).
  absl::Status ServeConnection(int fd);

  // Stops accepting and shuts down open connections (in-flight handlers still run, but their
  // responses may be lost). Safe to call from a handler.
  void Shutdown();

  // Number of requests whose handlers are running or whose responses are being written.
  int InFlight() const { return in_flight_.load(); }

  // Requests answered so far (lets an idle task notice activity).
  uint64_t Completed() const { return completed_.load(); }

  // Waits up to `timeout` for InFlight() to reach zero; true if it did.
  bool WaitIdle(absl::Duration timeout);

 private:
  struct Conn;
  void ReadLoop(std::shared_ptr<Conn> conn);
  void Dispatch(std::shared_ptr<Conn> conn, uint32_t stream_id, std::string frame);
  void Untrack(Conn* conn);

  std::map<std::string, Handler> handlers_;  // key: "service/method"; read-only while serving
  std::atomic<int> in_flight_{0};
  std::atomic<int> readers_{0};
  std::atomic<uint64_t> completed_{0};
  std::atomic<bool> shutdown_{false};
  std::atomic<int> listen_fd_{-1};
  absl::Mutex mu_;
  std::map<Conn*, std::weak_ptr<Conn>> conns_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::ttrpc
