// One task's connection to its shim: typed calls to containerd.task.v2.Task over ttrpc, the
// shim's log fifo copied into berthd's log, and a watch for the shim hanging up.
//
// One small thread per shim polls the log fifo and (a dup of) the ttrpc socket; when the socket
// reports a hang-up that Close() did not cause, `on_dead` runs once on that thread (the manager
// then cleans up after the dead shim, as containerd's cleanupAfterDeadShim does).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "shim-v2/manager/bundle.h"
#include "shim-v2/ttrpc/client.h"

namespace berth::runtime {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";

// Creates the bundle's `log` fifo and opens it O_RDWR|O_NONBLOCK (containerd's openShimLog):
// it must exist before `<shim> start`, because the serving shim opens it for writing first
// thing. Returns the fd, or -1.
int OpenShimLog(const std::string& bundle_path);

class Shim {
 public:
  // Connects to `address`. `log_fd` is the bundle's log fifo from OpenShimLog (taken over;
  // -1 = open it now, as on re-attach). Errors: the dial's (Unavailable when nobody listens).
  static absl::StatusOr<std::shared_ptr<Shim>> Connect(Bundle bundle, std::string address,
                                                       std::string binary, int log_fd = -1);
  ~Shim();

  const Bundle& bundle() const { return bundle_; }
  const std::string& ns() const { return bundle_.ns; }
  const std::string& id() const { return bundle_.id; }
  const std::string& address() const { return address_; }
  const std::string& binary() const { return binary_; }

  // Calls Task/<method> with the namespace in ttrpc metadata. Zero timeout = none.
  // Unavailable when the shim is gone; other codes as the shim returns them.
  absl::Status Call(const std::string& method, const google::protobuf::Message& request,
                    google::protobuf::Message* response,
                    absl::Duration timeout = absl::ZeroDuration());

  // Starts the watch thread; `on_dead` runs if the shim hangs up before Close().
  void Watch(std::function<void()> on_dead);
  // Closes the connection deliberately (no on_dead).
  void Close();

  struct WatchState;  // shared with the watch thread

 private:
  Shim(Bundle bundle, std::string address, std::string binary,
       std::unique_ptr<ttrpc::Client> client, int watch_fd, int log_fd);

  Bundle bundle_;
  std::string address_, binary_;
  std::unique_ptr<ttrpc::Client> client_;
  std::shared_ptr<WatchState> watch_;
};

}  // namespace berth::runtime
