#include "shim-v2/manager/shim.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "core/log.h"
#include "core/namespaces.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "shim-v2/ttrpc/thread.h"

namespace berth::runtime {

// Shared with the watch thread, which may outlive the Shim object briefly.
struct Shim::WatchState {
  int sock_fd = -1;  // a dup of the client's socket: poll only, never read
  int log_fd = -1;
  std::atomic<bool> closing{false};
  std::string id;
  ~WatchState() {
    if (sock_fd >= 0) ::close(sock_fd);
    if (log_fd >= 0) ::close(log_fd);
  }
};

namespace {

absl::StatusOr<int> DialUnix(const std::string& address) {
  std::string path(absl::StripPrefix(address, "unix://"));
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("bad shim address ", address));
  }
  memcpy(sa.sun_path, path.data(), path.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + path.size();
  if (path[0] == '@') sa.sun_path[0] = '\0';
  else len += 1;
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("socket");
  while (::connect(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    if (errno == EINTR) continue;
    absl::Status st = ErrnoStatus(absl::StrCat("connect to shim ", address));
    ::close(fd);
    return absl::UnavailableError(st.message());
  }
  return fd;
}

void WatchLoop(std::shared_ptr<Shim::WatchState> w, std::function<void()> on_dead) {
  auto logger = log::Get("shim");
  std::string partial;
  while (true) {
    pollfd fds[2] = {{w->sock_fd, POLLRDHUP, 0}, {w->log_fd, POLLIN, 0}};
    int n = ::poll(fds, w->log_fd >= 0 ? 2 : 1, 1000);
    if (n < 0 && errno != EINTR) break;
    if (w->log_fd >= 0 && (fds[1].revents & POLLIN)) {
      char buf[4096];
      ssize_t r = ::read(w->log_fd, buf, sizeof(buf));
      if (r > 0) {
        partial.append(buf, static_cast<size_t>(r));
        size_t nl;
        while ((nl = partial.find('\n')) != std::string::npos) {
          logger->debug("[{}] {}", w->id, partial.substr(0, nl));
          partial.erase(0, nl + 1);
        }
        if (partial.size() > 64 * 1024) partial.clear();
      }
      continue;  // drain the log before looking at the socket again
    }
    if (fds[0].revents & (POLLRDHUP | POLLHUP | POLLERR)) break;
  }
  if (!w->closing.exchange(true) && on_dead) on_dead();
}

}  // namespace

// containerd opens the fifo O_RDWR|O_NONBLOCK: it never sees EOF, and a shim's writes never
// block while the daemon is up.
int OpenShimLog(const std::string& bundle_path) {
  std::string path = bundle_path + "/log";
  if (::mkfifo(path.c_str(), 0700) != 0 && errno != EEXIST) return -1;
  return ::open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
}

Shim::Shim(Bundle bundle, std::string address, std::string binary,
           std::unique_ptr<ttrpc::Client> client, int watch_fd, int log_fd)
    : bundle_(std::move(bundle)),
      address_(std::move(address)),
      binary_(std::move(binary)),
      client_(std::move(client)),
      watch_(std::make_shared<WatchState>()) {
  watch_->sock_fd = watch_fd;
  watch_->log_fd = log_fd;
  watch_->id = bundle_.ns + "/" + bundle_.id;
}

Shim::~Shim() { Close(); }

absl::StatusOr<std::shared_ptr<Shim>> Shim::Connect(Bundle bundle, std::string address,
                                                    std::string binary, int log_fd) {
  if (log_fd < 0) log_fd = OpenShimLog(bundle.path);
  auto dialed = DialUnix(address);
  if (!dialed.ok()) {
    if (log_fd >= 0) ::close(log_fd);
    return dialed.status();
  }
  int fd = *dialed;
  int watch_fd = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (watch_fd < 0) {
    absl::Status st = ErrnoStatus("dup shim socket");
    ::close(fd);
    if (log_fd >= 0) ::close(log_fd);
    return st;
  }
  auto client = std::make_unique<ttrpc::Client>(fd);
  return std::shared_ptr<Shim>(new Shim(std::move(bundle), std::move(address), std::move(binary),
                                        std::move(client), watch_fd, log_fd));
}

absl::Status Shim::Call(const std::string& method, const google::protobuf::Message& request,
                        google::protobuf::Message* response, absl::Duration timeout) {
  auto out = client_->Call(kTaskService, method, request.SerializeAsString(),
                           {{kNamespaceTtrpcHeader, bundle_.ns}}, timeout);
  if (!out.ok()) {
    return Annotate(out.status(), absl::StrCat("shim ", method, " ", bundle_.ns, "/", bundle_.id));
  }
  if (response != nullptr && !response->ParseFromString(*out)) {
    return absl::InternalError(absl::StrCat("shim ", method, ": undecodable response"));
  }
  return absl::OkStatus();
}

void Shim::Watch(std::function<void()> on_dead) {
  auto w = watch_;
  absl::Status st = ttrpc::StartDetached([w, on_dead = std::move(on_dead)] { WatchLoop(w, on_dead); },
                                         128 * 1024);
  if (!st.ok()) log::Get("runtime")->warn("cannot watch shim {}: {}", w->id, st.ToString());
}

void Shim::Close() {
  watch_->closing.store(true);
  client_->Close();  // shuts the socket down: the watch thread wakes and ends
}

}  // namespace berth::runtime
