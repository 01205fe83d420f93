// exec/attach and port-forward over WebSocket (channel.k8s.io family), following kubelet's
// pkg/kubelet/cri/streaming/{remotecommand,portforward}/websocket.go plus the v5 close signal.
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "cri/streaming/handlers.h"
#include "cri/streaming/ws_conn.h"

namespace berth::cri::streaming {
namespace {

constexpr uint8_t kCloseChannel = 255;  // v5: {255, channel} half-closes a client channel

class WsOutput : public CommandOutput {
 public:
  explicit WsOutput(WsChannelConn& ws) : ws_(ws) {}
  absl::Status Send(Channel channel, absl::string_view data) override {
    return ws_.Send(static_cast<uint8_t>(channel), data);
  }

 private:
  WsChannelConn& ws_;
};

// Ends the session: our close frame, a short wait for the client's, then the socket.
void Finish(WsChannelConn& ws, absl::Notification& reader_done, std::thread& reader,
            absl::Duration grace) {
  ws.Close();
  reader_done.WaitForNotificationWithTimeout(grace);
  ws.Shutdown();
  reader.join();
}

}  // namespace

void ServeWebSocketCommand(Conn& conn, const HttpRequest& req, std::string leftover,
                           const CommandRequest& cmd, Runtime& runtime,
                           const HandlerOptions& options) {
  auto ws = WsChannelConn::Accept(
      conn, req, std::move(leftover),
      {"v5.channel.k8s.io", "v4.channel.k8s.io", "v4.base64.channel.k8s.io", "channel.k8s.io",
       "base64.channel.k8s.io", ""},
      options.idle_timeout);
  if (!ws.ok()) return;
  WsChannelConn& c = **ws;
  const bool v5 = c.protocol() == "v5.channel.k8s.io";
  const StatusFormat format =
      absl::StartsWith(c.protocol(), "v4.") || v5 ? StatusFormat::kJson : StatusFormat::kText;
  CommandSession session(cmd.options);
  absl::Status init = session.Init();
  // kubelet sends an empty message on the lowest writable channel: "the stream is open".
  const CommandOptions& o = cmd.options;
  c.Send(static_cast<uint8_t>(o.stdout                ? Channel::kStdout
                              : (o.stderr && !o.tty) ? Channel::kStderr
                                                     : Channel::kError),
         "")
      .IgnoreError();
  if (!init.ok()) {
    c.Send(static_cast<uint8_t>(Channel::kError), FormatStatus(format, init)).IgnoreError();
    c.Close();
    return;
  }
  absl::Notification reader_done;
  std::thread reader([&] {
    c.ReadLoop([&](uint8_t channel, std::string data) {
      if (channel == static_cast<uint8_t>(Channel::kStdin) && o.stdin) {
        session.WriteStdin(data).IgnoreError();
      } else if (channel == static_cast<uint8_t>(Channel::kResize)) {
        session.FeedResize(data);
      } else if (v5 && channel == kCloseChannel && !data.empty() &&
                 data[0] == static_cast<char>(Channel::kStdin)) {
        session.CloseStdin();
      }
    });
    session.ClientGone();
    reader_done.Notify();
  });
  WsOutput out(c);
  absl::StatusOr<int> result =
      session.Run(out, [&](Streams& s) { return RunCommand(runtime, cmd, s); });
  std::string status = FormatStatus(format, result);
  if (!status.empty()) c.Send(static_cast<uint8_t>(Channel::kError), status).IgnoreError();
  Finish(c, reader_done, reader, options.close_grace);
}

void ServeWebSocketPortForward(Conn& conn, const HttpRequest& req, std::string leftover,
                               const PortForwardRequest& pf, Runtime& runtime,
                               const HandlerOptions& options) {
  std::vector<int32_t> ports = pf.ports;
  for (const std::string& value : req.QueryValues("port")) {
    for (absl::string_view p : absl::StrSplit(value, ',')) {
      uint32_t port = 0;
      if (!absl::SimpleAtoi(p, &port) || port < 1 || port > 65535) {
        conn.WriteAll(HttpError(400, "Bad Request", absl::StrCat("invalid port '", p, "'")))
            .IgnoreError();
        return;
      }
      ports.push_back(static_cast<int32_t>(port));
    }
  }
  if (ports.empty()) {
    conn.WriteAll(HttpError(400, "Bad Request", "query parameter \"port\" is required"))
        .IgnoreError();
    return;
  }
  auto ws = WsChannelConn::Accept(
      conn, req, std::move(leftover),
      {"v4.channel.k8s.io", "v4.base64.channel.k8s.io", "portforward.k8s.io", ""},
      options.idle_timeout);
  if (!ws.ok()) return;
  WsChannelConn& c = **ws;
  // Per port i: data on channel 2i, errors on 2i+1; each starts with the port, u16 LE.
  std::vector<std::array<int, 2>> pairs(ports.size(), {-1, -1});
  for (size_t i = 0; i < ports.size(); ++i) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0) pairs[i] = {fds[0], fds[1]};
    char prefix[2] = {static_cast<char>(ports[i] & 0xFF), static_cast<char>(ports[i] >> 8)};
    c.Send(static_cast<uint8_t>(2 * i), absl::string_view(prefix, 2)).IgnoreError();
    c.Send(static_cast<uint8_t>(2 * i + 1), absl::string_view(prefix, 2)).IgnoreError();
  }
  absl::Notification reader_done;
  std::thread reader([&] {
    c.ReadLoop([&](uint8_t channel, std::string data) {
      size_t i = channel / 2;
      if (channel % 2 != 0 || i >= pairs.size() || pairs[i][0] < 0) return;
      send(pairs[i][0], data.data(), data.size(), MSG_NOSIGNAL);
    });
    for (auto& p : pairs) {
      if (p[0] >= 0) shutdown(p[0], SHUT_WR);  // client gone: EOF towards the pod
    }
    reader_done.Notify();
  });
  std::vector<std::thread> workers;
  for (size_t i = 0; i < ports.size(); ++i) {
    workers.emplace_back([&, i] {
      if (pairs[i][0] < 0) {
        c.Send(static_cast<uint8_t>(2 * i + 1), "streaming: socketpair failed").IgnoreError();
        return;
      }
      std::thread pump([&, i] {
        char buf[32 * 1024];
        ssize_t n;
        while ((n = read(pairs[i][0], buf, sizeof(buf))) > 0 || (n < 0 && errno == EINTR)) {
          if (n > 0 && !c.Send(static_cast<uint8_t>(2 * i), absl::string_view(buf, n)).ok()) {
            break;
          }
        }
      });
      absl::Status st = ForwardOnePort(runtime, pf.pod_sandbox_id, ports[i], pairs[i][1]);
      close(pairs[i][1]);
      pump.join();
      if (!st.ok()) {
        c.Send(static_cast<uint8_t>(2 * i + 1),
               absl::StrCat("error forwarding port ", ports[i], " to pod ", pf.pod_sandbox_id,
                            ": ", st.message()))
            .IgnoreError();
      }
    });
  }
  for (std::thread& t : workers) t.join();
  Finish(c, reader_done, reader, options.close_grace);
  for (auto& p : pairs) {
    if (p[0] >= 0) close(p[0]);
  }
}

}  // namespace berth::cri::streaming
