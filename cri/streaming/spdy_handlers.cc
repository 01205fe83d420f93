// exec/attach and port-forward over SPDY/3.1, following kubelet's
// pkg/kubelet/cri/streaming/{remotecommand,portforward}/httpstream.go.
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <deque>
#include <optional>
#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/notification.h"
#include "cri/streaming/handlers.h"
#include "cri/streaming/spdy_session.h"

namespace berth::cri::streaming {
namespace {

using spdy::Stream;

// The X-Stream-Protocol-Version handshake (apimachinery httpstream.Handshake): the first
// protocol the client lists that we support; "" when the client lists none (legacy v1).
// Writes the HTTP error itself on failure.
std::optional<std::string> Upgrade(Conn& conn, const HttpRequest& req,
                                   const std::vector<std::string>& supported) {
  if (!req.HeaderHasToken("connection", "upgrade") ||
      !absl::EqualsIgnoreCase(req.Header("upgrade"), "SPDY/3.1")) {
    conn.WriteAll(HttpError(400, "Bad Request", "unable to upgrade: missing upgrade headers"))
        .IgnoreError();
    return std::nullopt;
  }
  std::vector<std::string> offered = req.HeaderTokens("x-stream-protocol-version");
  std::string chosen;
  if (!offered.empty()) {
    for (const std::string& p : offered) {
      if (std::find(supported.begin(), supported.end(), p) != supported.end()) {
        chosen = p;
        break;
      }
    }
    if (chosen.empty()) {
      conn.WriteAll(HttpResponse(403, "Forbidden",
                                 {{"X-Accepted-Stream-Protocol-Versions",
                                   absl::StrJoin(supported, ", ")}},
                                 "unable to upgrade: unable to negotiate protocol\n"))
          .IgnoreError();
      return std::nullopt;
    }
  }
  std::vector<std::pair<std::string, std::string>> headers = {{"Connection", "Upgrade"},
                                                               {"Upgrade", "SPDY/3.1"}};
  if (!chosen.empty()) headers.emplace_back("X-Stream-Protocol-Version", chosen);
  if (!conn.WriteAll(HttpResponse(101, "Switching Protocols", headers)).ok()) return std::nullopt;
  return chosen;
}

// Runs the session's read loop on its own thread and queues new streams for the handler.
class Acceptor {
 public:
  Acceptor(Conn& conn, std::string leftover, const HandlerOptions& options)
      : session_(conn, std::move(leftover),
                 spdy::Session::Options{.max_streams = options.max_streams,
                                        .idle_timeout = options.idle_timeout}) {
    thread_ = std::thread([this] {
      session_.Serve([this](std::shared_ptr<Stream> s) {
        absl::MutexLock lock(&mu_);
        pending_.push_back(std::move(s));
      }).IgnoreError();
      absl::MutexLock lock(&mu_);
      done_ = true;
    });
  }
  ~Acceptor() {
    session_.Shutdown();
    thread_.join();
  }
  // The next new stream; nullptr when the connection ended or `deadline` passed.
  std::shared_ptr<Stream> Next(absl::Time deadline) {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return done_ || !pending_.empty(); };
    mu_.AwaitWithDeadline(absl::Condition(&ready), deadline);
    if (pending_.empty()) return nullptr;
    auto s = std::move(pending_.front());
    pending_.pop_front();
    return s;
  }
  // Waits up to `grace` for the client to hang up after our GOAWAY, then forces it.
  void Finish(absl::Duration grace) {
    session_.SendGoAway();
    absl::MutexLock lock(&mu_);
    auto done = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return done_; };
    mu_.AwaitWithTimeout(absl::Condition(&done), grace);
  }

 private:
  spdy::Session session_;
  std::thread thread_;
  absl::Mutex mu_;
  std::deque<std::shared_ptr<Stream>> pending_ ABSL_GUARDED_BY(mu_);
  bool done_ ABSL_GUARDED_BY(mu_) = false;
};

class SpdyOutput : public CommandOutput {
 public:
  SpdyOutput(Stream* out, Stream* err) : out_(out), err_(err) {}
  absl::Status Send(Channel channel, absl::string_view data) override {
    Stream* s = channel == Channel::kStdout ? out_ : err_;
    if (!s) return absl::OkStatus();
    return s->Write(data);
  }

 private:
  Stream* out_;
  Stream* err_;
};

}  // namespace

void ServeSpdyCommand(Conn& conn, const HttpRequest& req, std::string leftover,
                      const CommandRequest& cmd, Runtime& runtime,
                      const HandlerOptions& options) {
  auto protocol = Upgrade(conn, req,
                          {"v4.channel.k8s.io", "v3.channel.k8s.io", "v2.channel.k8s.io",
                           "channel.k8s.io"});
  if (!protocol) return;
  const bool resize_supported = *protocol == "v4.channel.k8s.io" || *protocol == "v3.channel.k8s.io";
  const CommandOptions& o = cmd.options;
  size_t expected = 1 + o.stdin + o.stdout + (o.stderr && !o.tty) + (o.tty && resize_supported);
  Acceptor acceptor(conn, std::move(leftover), options);
  std::map<std::string, std::shared_ptr<Stream>> streams;
  absl::Time deadline = absl::Now() + options.stream_creation_timeout;
  size_t received = 0;
  while (received < expected) {
    std::shared_ptr<Stream> s = acceptor.Next(deadline);
    if (!s) return;  // timed out waiting for the client to create streams, or it left
    std::string type = s->Header("streamtype");
    if (type == "error" || type == "stdin" || type == "stdout" || type == "stderr" ||
        type == "resize") {
      streams[type] = s;
      ++received;
    } else {
      s->Reset(spdy::RstStatus::kProtocolError);
    }
  }
  const StatusFormat format =
      *protocol == "v4.channel.k8s.io" ? StatusFormat::kJson : StatusFormat::kText;
  CommandOptions effective = o;
  effective.stdin = o.stdin && streams.count("stdin");
  effective.stdout = o.stdout && streams.count("stdout");
  effective.stderr = o.stderr && !o.tty && streams.count("stderr");
  CommandSession session(effective);
  absl::Status init = session.Init();
  std::shared_ptr<Stream> error = streams["error"];
  if (!init.ok()) {
    if (error) error->Write(FormatStatus(format, init)).IgnoreError();
    acceptor.Finish(options.close_grace);
    return;
  }
  std::vector<std::thread> readers;
  if (auto in = streams["stdin"]; in && effective.stdin) {
    readers.emplace_back([&session, in] {
      for (std::string d = in->Read(); !d.empty(); d = in->Read()) {
        if (!session.WriteStdin(d).ok()) break;
      }
      session.CloseStdin();
    });
  }
  if (auto rs = streams["resize"]) {
    readers.emplace_back([&session, rs] {
      for (std::string d = rs->Read(); !d.empty(); d = rs->Read()) session.FeedResize(d);
    });
  }
  SpdyOutput out(streams["stdout"].get(), streams["stderr"].get());
  absl::StatusOr<int> result =
      session.Run(out, [&](Streams& s) { return RunCommand(runtime, cmd, s); });
  for (const char* name : {"stdout", "stderr"}) {
    if (auto s = streams[name]) s->Close().IgnoreError();
  }
  if (error) {
    std::string status = FormatStatus(format, result);
    if (!status.empty()) error->Write(status).IgnoreError();
    error->Close().IgnoreError();
  }
  session.ClientGone();
  acceptor.Finish(options.close_grace);
  // Readers end once the session is down: their streams read EOF.
  for (auto& [name, s] : streams) {
    if (s) s->Reset();
  }
  for (std::thread& t : readers) t.join();
}

void ServeSpdyPortForward(Conn& conn, const HttpRequest& req, std::string leftover,
                          const PortForwardRequest& pf, Runtime& runtime,
                          const HandlerOptions& options) {
  if (!Upgrade(conn, req, {"portforward.k8s.io"})) return;
  Acceptor acceptor(conn, std::move(leftover), options);
  struct Pair {
    std::shared_ptr<Stream> data, error;
  };
  std::map<std::string, Pair> pairs;
  std::vector<std::thread> workers;
  while (std::shared_ptr<Stream> s = acceptor.Next(absl::InfiniteFuture())) {
    std::string type = s->Header("streamtype");
    std::string id = s->Header("requestid");
    if (id.empty()) {
      // Old clients send no requestID: kubelet pairs error stream N with data stream N+2.
      id = absl::StrCat(type == "data" ? s->id() - 2 : s->id());
    }
    Pair& p = pairs[id];
    if (type == "data") {
      p.data = s;
    } else if (type == "error") {
      p.error = s;
    } else {
      s->Reset(spdy::RstStatus::kProtocolError);
      continue;
    }
    if (!p.data || !p.error) continue;
    Pair ready = p;
    pairs.erase(id);
    workers.emplace_back([ready, &runtime, &pf] {
      uint32_t port = 0;
      std::string port_header = ready.data->Header("port");
      int fds[2];
      absl::Status st;
      if (!absl::SimpleAtoi(port_header, &port) || port < 1 || port > 65535) {
        st = absl::InvalidArgumentError(absl::StrCat("invalid port '", port_header, "'"));
      } else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) {
        st = absl::InternalError("socketpair failed");
      } else {
        std::thread up([&] {  // client -> pod
          for (std::string d = ready.data->Read(); !d.empty(); d = ready.data->Read()) {
            if (send(fds[0], d.data(), d.size(), MSG_NOSIGNAL) < 0) break;
          }
          shutdown(fds[0], SHUT_WR);
        });
        std::thread down([&] {  // pod -> client
          char buf[32 * 1024];
          ssize_t n;
          while ((n = read(fds[0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
            if (n > 0 && !ready.data->Write(absl::string_view(buf, n)).ok()) break;
          }
          ready.data->Close().IgnoreError();
        });
        st = ForwardOnePort(runtime, pf.pod_sandbox_id, static_cast<int32_t>(port), fds[1]);
        close(fds[1]);
        down.join();
        ready.data->Reset();  // wakes `up` if the client keeps its side open
        up.join();
        close(fds[0]);
      }
      if (!st.ok()) {
        ready.error->Write(absl::StrCat("error forwarding port ", port_header, " to pod ",
                                        pf.pod_sandbox_id, ": ", st.message()))
            .IgnoreError();
      }
      ready.error->Close().IgnoreError();
    });
  }
  for (std::thread& t : workers) t.join();
}

}  // namespace berth::cri::streaming
