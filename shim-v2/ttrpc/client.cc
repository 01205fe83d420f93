#include "shim-v2/ttrpc/client.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

#include "core/status.h"
#include "shim-v2/ttrpc/frame.h"
#include "shim-v2/ttrpc/status.h"
#include "shim-v2/ttrpc/thread.h"
#include "ttrpc/ttrpc.pb.h"

namespace berth::ttrpc {

// State shared with the reader thread, which may outlive the Client object briefly.
struct Client::Shared {
  explicit Shared(int f) : fd(f) {}
  ~Shared() { close(fd); }
  int fd;
  absl::Mutex write_mu;
  absl::Mutex mu;
  uint32_t next_id ABSL_GUARDED_BY(mu) = 1;
  bool closed ABSL_GUARDED_BY(mu) = false;
  std::map<uint32_t, std::shared_ptr<Waiter>> waiters ABSL_GUARDED_BY(mu);
};

absl::StatusOr<std::unique_ptr<Client>> Client::Dial(const std::string& address) {
  std::string path = address;
  if (path.rfind("unix://", 0) == 0) path = path.substr(7);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(sa.sun_path)) {
    return absl::InvalidArgumentError(absl::StrCat("ttrpc: bad socket address ", address));
  }
  memcpy(sa.sun_path, path.data(), path.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + path.size();
  if (path[0] == '@') sa.sun_path[0] = '\0';  // abstract socket
  else len += 1;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return ErrnoStatus("ttrpc: socket");
  while (connect(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0) {
    if (errno == EINTR) continue;
    absl::Status st = ErrnoStatus(absl::StrCat("ttrpc: connect ", address));
    close(fd);
    return st;
  }
  return std::make_unique<Client>(fd);
}

Client::Client(int fd) : shared_(std::make_shared<Shared>(fd)) {
  auto shared = shared_;
  absl::Status st = StartDetached([shared] { ReadLoop(shared); }, 128 * 1024);
  if (!st.ok()) {
    absl::MutexLock lock(&shared_->mu);
    shared_->closed = true;
  }
}

Client::~Client() { Close(); }

void Client::Close() {
  {
    absl::MutexLock lock(&shared_->mu);
    if (shared_->closed) return;
    shared_->closed = true;
  }
  shutdown(shared_->fd, SHUT_RDWR);  // the reader wakes, fails pending waiters
}

void Client::ReadLoop(std::shared_ptr<Shared> shared) {
  FrameHeader header;
  std::string payload;
  while (true) {
    absl::Status st = ReadFrame(shared->fd, &header, &payload);
    if (!st.ok()) break;
    if (header.type != static_cast<uint8_t>(FrameType::kResponse)) continue;
    ::ttrpc::Response resp;
    absl::Status result;
    if (!resp.ParseFromString(payload)) {
      result = absl::InternalError("ttrpc: undecodable response");
    } else if (resp.has_status()) {
      result = FromRpcStatus(resp.status());
    }
    absl::MutexLock lock(&shared->mu);
    auto it = shared->waiters.find(header.stream_id);
    if (it == shared->waiters.end()) continue;  // caller gave up (deadline)
    it->second->done = true;
    it->second->status = result;
    if (result.ok()) it->second->payload = std::move(*resp.mutable_payload());
    shared->waiters.erase(it);
  }
  shutdown(shared->fd, SHUT_RDWR);
  absl::MutexLock lock(&shared->mu);
  shared->closed = true;
  for (auto& [id, w] : shared->waiters) {
    w->done = true;
    w->status = absl::UnavailableError("ttrpc: connection closed");
  }
  shared->waiters.clear();
}

absl::StatusOr<std::string> Client::Call(const std::string& service, const std::string& method,
                                         const std::string& payload, const Metadata& metadata,
                                         absl::Duration timeout) {
  ::ttrpc::Request req;
  req.set_service(service);
  req.set_method(method);
  req.set_payload(payload);
  if (timeout > absl::ZeroDuration()) req.set_timeout_nano(absl::ToInt64Nanoseconds(timeout));
  for (const auto& [k, v] : metadata) {
    auto* kv = req.add_metadata();
    kv->set_key(k);
    kv->set_value(v);
  }
  std::string bytes = req.SerializeAsString();
  auto waiter = std::make_shared<Waiter>();
  uint32_t id;
  {
    absl::MutexLock lock(&shared_->mu);
    if (shared_->closed) return absl::UnavailableError("ttrpc: connection closed");
    id = shared_->next_id;
    shared_->next_id += 2;
    shared_->waiters[id] = waiter;
  }
  absl::Status sent;
  {
    absl::MutexLock lock(&shared_->write_mu);
    sent = WriteFrame(shared_->fd, id, FrameType::kRequest, bytes);
  }
  absl::MutexLock lock(&shared_->mu);
  if (!sent.ok()) {
    // A write error means the connection is gone (EPIPE, ECONNRESET): callers retry on
    // Unavailable, as with Go ttrpc's ErrClosed.
    shared_->waiters.erase(id);
    if (sent.code() == absl::StatusCode::kInvalidArgument) return sent;  // oversized request
    return absl::UnavailableError(absl::StrCat("ttrpc: connection closed: ", sent.message()));
  }
  absl::Time deadline =
      timeout > absl::ZeroDuration() ? absl::Now() + timeout : absl::InfiniteFuture();
  auto done = [&waiter]() { return waiter->done; };
  shared_->mu.AwaitWithDeadline(absl::Condition(&done), deadline);
  if (!waiter->done) {
    shared_->waiters.erase(id);
    return absl::DeadlineExceededError(absl::StrCat("ttrpc: ", service, "/", method, " timed out"));
  }
  if (!waiter->status.ok()) return waiter->status;
  return std::move(waiter->payload);
}

}  // namespace berth::ttrpc
