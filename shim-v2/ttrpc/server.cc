#include "shim-v2/ttrpc/server.h"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "core/status.h"
#include "shim-v2/ttrpc/frame.h"
#include "shim-v2/ttrpc/status.h"
#include "shim-v2/ttrpc/thread.h"
#include "ttrpc/ttrpc.pb.h"

namespace berth::ttrpc {

struct Server::Conn {
  explicit Conn(int f) : fd(f) {}
  ~Conn() { close(fd); }
  int fd;
  absl::Mutex write_mu;
  absl::Status Send(uint32_t stream_id, const std::string& payload) {
    absl::MutexLock lock(&write_mu);
    return WriteFrame(fd, stream_id, FrameType::kResponse, payload);
  }
};

Server::~Server() {
  Shutdown();
  // Reader and handler threads reference this object: give them time to finish.
  absl::Time end = absl::Now() + absl::Seconds(5);
  while ((readers_.load() > 0 || in_flight_.load() > 0) && absl::Now() < end) {
    absl::SleepFor(absl::Milliseconds(2));
  }
}

void Server::Register(const std::string& service, const std::string& method, Handler handler) {
  handlers_[service + "/" + method] = std::move(handler);
}

absl::Status Server::Serve(int listen_fd) {
  listen_fd_.store(listen_fd);
  while (!shutdown_.load()) {
    int fd = accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (shutdown_.load()) break;
      return ErrnoStatus("ttrpc: accept");
    }
    absl::Status st = ServeConnection(fd);
    (void)st;  // a connection we cannot serve is closed by ServeConnection
  }
  return absl::OkStatus();
}

absl::Status Server::ServeConnection(int fd) {
  auto conn = std::make_shared<Conn>(fd);
  {
    absl::MutexLock lock(&mu_);
    if (shutdown_.load()) return absl::UnavailableError("ttrpc: server shut down");
    conns_[conn.get()] = conn;
  }
  readers_.fetch_add(1);
  absl::Status st = StartDetached([this, conn] {
    ReadLoop(conn);
    readers_.fetch_sub(1);
  });
  if (!st.ok()) {
    readers_.fetch_sub(1);
    Untrack(conn.get());
  }
  return st;
}

void Server::Untrack(Conn* conn) {
  absl::MutexLock lock(&mu_);
  conns_.erase(conn);
}

void Server::ReadLoop(std::shared_ptr<Conn> conn) {
  FrameHeader header;
  std::string payload;
  while (true) {
    absl::Status st = ReadFrame(conn->fd, &header, &payload);
    if (!st.ok()) break;  // EOF, oversized or short frame: drop this connection only
    if (header.type != static_cast<uint8_t>(FrameType::kRequest)) continue;  // as Go ttrpc
    if (header.stream_id % 2 != 1) {
      ::ttrpc::Response resp;
      *resp.mutable_status() = ToRpcStatus(
          absl::InvalidArgumentError("StreamID must be odd for client initiated streams"));
      if (!conn->Send(header.stream_id, resp.SerializeAsString()).ok()) break;
      continue;
    }
    in_flight_.fetch_add(1);
    uint32_t id = header.stream_id;
    std::string frame = std::move(payload);
    payload.clear();
    absl::Status started =
        StartDetached([this, conn, id, f = std::move(frame)]() mutable {
          Dispatch(conn, id, std::move(f));
        });
    if (!started.ok()) {
      in_flight_.fetch_sub(1);
      ::ttrpc::Response resp;
      *resp.mutable_status() = ToRpcStatus(absl::ResourceExhaustedError(started.message()));
      (void)conn->Send(id, resp.SerializeAsString());
    }
  }
  shutdown(conn->fd, SHUT_RDWR);
  Untrack(conn.get());
}

void Server::Dispatch(std::shared_ptr<Conn> conn, uint32_t stream_id, std::string frame) {
  ::ttrpc::Request req;
  ::ttrpc::Response resp;
  if (!req.ParseFromString(frame)) {
    *resp.mutable_status() = ToRpcStatus(absl::InvalidArgumentError("unmarshal request error"));
  } else {
    CallContext ctx;
    for (const auto& kv : req.metadata()) ctx.metadata.emplace(kv.key(), kv.value());
    if (req.timeout_nano() > 0) ctx.deadline = absl::Now() + absl::Nanoseconds(req.timeout_nano());
    auto it = handlers_.find(req.service() + "/" + req.method());
    if (it == handlers_.end()) {
      *resp.mutable_status() = ToRpcStatus(absl::UnimplementedError(
          absl::StrCat(req.service(), "/", req.method(), " is not implemented")));
    } else {
      absl::StatusOr<std::string> out = it->second(ctx, req.payload());
      if (out.ok()) {
        *resp.mutable_payload() = std::move(out).value();
      } else {
        *resp.mutable_status() = ToRpcStatus(out.status());
      }
    }
  }
  std::string bytes = resp.SerializeAsString();
  if (bytes.size() > kMaxPayload) {
    resp.Clear();
    *resp.mutable_status() = ToRpcStatus(absl::ResourceExhaustedError("response too large"));
    bytes = resp.SerializeAsString();
  }
  (void)conn->Send(stream_id, bytes);  // a write error means the reader sees the close too
  completed_.fetch_add(1);
  in_flight_.fetch_sub(1);
}

void Server::Shutdown() {
  if (shutdown_.exchange(true)) return;
  int lfd = listen_fd_.exchange(-1);
  if (lfd >= 0) {
    shutdown(lfd, SHUT_RDWR);  // wakes accept()
    close(lfd);
  }
  absl::MutexLock lock(&mu_);
  for (auto& [raw, weak] : conns_) {
    if (auto c = weak.lock()) shutdown(c->fd, SHUT_RD);
  }
}

bool Server::WaitIdle(absl::Duration timeout) {
  absl::Time end = absl::Now() + timeout;
  while (in_flight_.load() > 0) {
    if (absl::Now() >= end) return false;
    absl::SleepFor(absl::Milliseconds(5));
  }
  return true;
}

}  // namespace berth::ttrpc
