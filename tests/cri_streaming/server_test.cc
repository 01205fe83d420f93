// End to end, in process: the Server with a fake Runtime, driven by the small clients of our
// own for WebSocket and SPDY/3.1 (client.h).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cri/streaming/server.h"
#include "cri/streaming/spdy_frames.h"
#include "cri/streaming/spdy_headers.h"
#include "cri/streaming/websocket.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/cri_streaming/client.h"

namespace berth::cri::streaming {
namespace {

using testing::Dial;
using testing::SpdyClient;
using testing::WriteAllFd;
using testing::WsClient;

// Copies both ways between a and b until both directions hit EOF.
void Splice(int a, int b) {
  bool a_open = true, b_open = true;
  char buf[8192];
  while (a_open || b_open) {
    pollfd p[2] = {{a, static_cast<short>(a_open ? POLLIN : 0), 0},
                   {b, static_cast<short>(b_open ? POLLIN : 0), 0}};
    if (poll(p, 2, 5000) <= 0) return;
    for (int i = 0; i < 2; ++i) {
      if (!p[i].revents) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = read(from, buf, sizeof(buf));
      if (n <= 0) {
        shutdown(to, SHUT_WR);
        (i == 0 ? a_open : b_open) = false;
      } else {
        WriteAllFd(to, absl::string_view(buf, n));
      }
    }
  }
}

class FakeRuntime : public Runtime {
 public:
  absl::StatusOr<int> Exec(const std::string& id, const std::vector<std::string>& cmd,
                           Streams& s) override {
    if (id == "missing") return absl::NotFoundError("container missing not found");
    if (cmd[0] == "echo-stdin") {  // copies stdin to stdout, then exits 3
      char buf[4096];
      ssize_t n;
      while ((n = read(s.stdin_fd, buf, sizeof(buf))) > 0) {
        WriteAllFd(s.stdout_fd, absl::string_view(buf, n));
      }
      if (s.stderr_fd >= 0) WriteAllFd(s.stderr_fd, "done\n");
      return 3;
    }
    if (cmd[0] == "resize") {  // reports the first resize event
      auto size = s.resize ? s.resize->NextWithTimeout(absl::Seconds(5)) : std::nullopt;
      if (!size) return 1;
      WriteAllFd(s.stdout_fd, absl::StrCat(size->width, "x", size->height));
      return 0;
    }
    return 127;
  }
  absl::Status Attach(const std::string& id, Streams& s) override {
    WriteAllFd(s.stdout_fd, "attached\n");
    return absl::OkStatus();
  }
  absl::Status PortForward(const std::string& sandbox, int32_t port, int fd) override {
    int c = Dial(static_cast<uint16_t>(port));
    if (c < 0) return absl::UnavailableError("connection refused");
    Splice(fd, c);
    close(c);
    return absl::OkStatus();
  }
};

// A TCP echo server on a free port.
class EchoServer {
 public:
  EchoServer() {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a));
    listen(fd_, 8);
    socklen_t len = sizeof(a);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] {
      int c;
      while ((c = accept(fd_, nullptr, nullptr)) >= 0) {
        char buf[4096];
        ssize_t n;
        while ((n = read(c, buf, sizeof(buf))) > 0) WriteAllFd(c, absl::string_view(buf, n));
        close(c);
      }
    });
  }
  ~EchoServer() {
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  uint16_t port() const { return port_; }

 private:
  int fd_;
  uint16_t port_;
  std::thread thread_;
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(ServerConfig{}, runtime_);
    ASSERT_TRUE(server_->Start().ok());
  }
  std::string ExecUrl(const std::string& cmd, bool in, bool out, bool err, bool tty,
                      const std::string& id = "c1") {
    runtime::v1::ExecRequest req;
    req.set_container_id(id);
    req.add_cmd(cmd);
    req.set_stdin(in);
    req.set_stdout(out);
    req.set_stderr(err);
    req.set_tty(tty);
    auto resp = server_->GetExec(req);
    EXPECT_TRUE(resp.ok()) << resp.status();
    return resp.ok() ? resp->url() : "";
  }
  FakeRuntime runtime_;
  std::unique_ptr<Server> server_;
};

TEST_F(ServerTest, WebSocketV5ExecEchoesStdinAndReportsExitCode) {
  std::string url = ExecUrl("echo-stdin", true, true, true, false);
  EXPECT_TRUE(absl::StartsWith(url, "http://127.0.0.1:"));
  WsClient c;
  ASSERT_TRUE(c.Connect(url, "v5.channel.k8s.io, v4.channel.k8s.io")) << c.head();
  EXPECT_TRUE(absl::StrContains(c.head(), "Sec-WebSocket-Protocol: v5.channel.k8s.io"));
  c.Send(0, "hello ");
  c.Send(0, "world");
  c.Send(255, std::string(1, '\0'));  // v5: close stdin
  auto out = c.ReadAll();
  EXPECT_EQ(out[1], "hello world");
  EXPECT_EQ(out[2], "done\n");
  auto status = nlohmann::json::parse(out[3]);
  EXPECT_EQ(status["status"], "Failure");
  EXPECT_EQ(status["details"]["causes"][0]["message"], "3");
}

TEST_F(ServerTest, TokenIsSingleUse) {
  std::string url = ExecUrl("resize", false, true, false, true);
  WsClient first;
  ASSERT_TRUE(first.Connect(url, "v4.channel.k8s.io"));
  WsClient second;
  EXPECT_FALSE(second.Connect(url, "v4.channel.k8s.io"));
  EXPECT_TRUE(absl::StartsWith(second.head(), "HTTP/1.1 404")) << second.head();
}

TEST_F(ServerTest, WebSocketV4TtyResizeArrives) {
  std::string url = ExecUrl("resize", true, true, false, true);
  WsClient c;
  ASSERT_TRUE(c.Connect(url, "v4.channel.k8s.io"));
  c.Send(4, R"({"Width":120,"Height":40})");
  auto out = c.ReadAll();
  EXPECT_EQ(out[1], "120x40");
  EXPECT_EQ(nlohmann::json::parse(out[3])["status"], "Success");
}

TEST_F(ServerTest, WebSocketRuntimeErrorReachesErrorChannel) {
  std::string url = ExecUrl("echo-stdin", false, true, false, false, "missing");
  WsClient c;
  ASSERT_TRUE(c.Connect(url, "v4.channel.k8s.io"));
  auto out = c.ReadAll();
  EXPECT_TRUE(absl::StrContains(out[3], "container missing not found")) << out[3];
}

TEST_F(ServerTest, WebSocketAttach) {
  runtime::v1::AttachRequest req;
  req.set_container_id("c1");
  req.set_stdout(true);
  auto resp = server_->GetAttach(req);
  ASSERT_TRUE(resp.ok());
  WsClient c;
  ASSERT_TRUE(c.Connect(resp->url(), "v4.channel.k8s.io"));
  EXPECT_EQ(c.ReadAll()[1], "attached\n");
}

TEST_F(ServerTest, WebSocketPortForwardToEchoServer) {
  EchoServer echo;
  runtime::v1::PortForwardRequest req;
  req.set_pod_sandbox_id("p1");
  req.add_port(echo.port());
  auto resp = server_->GetPortForward(req);
  ASSERT_TRUE(resp.ok());
  WsClient c;
  ASSERT_TRUE(c.Connect(resp->url(), "v4.channel.k8s.io"));
  c.Send(0, "ping over ws");
  // The echo comes back on channel 0 behind the 2-byte little-endian port prefix.
  std::string expect(2, '\0');
  expect[0] = static_cast<char>(echo.port() & 0xFF);
  expect[1] = static_cast<char>(echo.port() >> 8);
  EXPECT_EQ(c.ReadChannel(0, expect.size() + 12), expect + "ping over ws");
}

TEST_F(ServerTest, SpdyV4ExecEchoesStdinAndReportsExitCode) {
  std::string url = ExecUrl("echo-stdin", true, true, false, false);
  SpdyClient c;
  ASSERT_TRUE(c.Connect(url, "v4.channel.k8s.io")) << c.head();
  EXPECT_TRUE(absl::StrContains(c.head(), "X-Stream-Protocol-Version: v4.channel.k8s.io"));
  uint32_t err = c.Open({{"streamtype", "error"}});
  uint32_t in = c.Open({{"streamtype", "stdin"}});
  uint32_t out = c.Open({{"streamtype", "stdout"}});
  c.Data(in, "over spdy", /*fin=*/true);
  auto got = c.ReadUntilFin(err);
  EXPECT_EQ(c.replies(), 3);
  EXPECT_EQ(got[out], "over spdy");
  auto status = nlohmann::json::parse(got[err]);
  EXPECT_EQ(status["details"]["causes"][0]["message"], "3");
}

TEST_F(ServerTest, SpdyLargeOutputIsNotStalledByWindows) {
  // spdystream never sends WINDOW_UPDATE: > 64 KiB of output must still arrive.
  std::string url = ExecUrl("echo-stdin", true, true, false, false);
  SpdyClient c;
  ASSERT_TRUE(c.Connect(url, "v4.channel.k8s.io"));
  uint32_t err = c.Open({{"streamtype", "error"}});
  uint32_t in = c.Open({{"streamtype", "stdin"}});
  uint32_t out = c.Open({{"streamtype", "stdout"}});
  std::string big(300 * 1024, 'z');
  c.Data(in, big, true);
  auto got = c.ReadUntilFin(err);
  EXPECT_EQ(got[out].size(), big.size());
}

TEST_F(ServerTest, SpdyPortForwardToEchoServer) {
  EchoServer echo;
  runtime::v1::PortForwardRequest req;
  req.set_pod_sandbox_id("p1");
  auto resp = server_->GetPortForward(req);
  ASSERT_TRUE(resp.ok());
  SpdyClient c;
  ASSERT_TRUE(c.Connect(resp->url(), "portforward.k8s.io")) << c.head();
  std::string port = std::to_string(echo.port());
  uint32_t err = c.Open({{"streamtype", "error"}, {"port", port}, {"requestid", "0"}});
  uint32_t data = c.Open({{"streamtype", "data"}, {"port", port}, {"requestid", "0"}});
  c.Data(data, "ping over spdy", /*fin=*/true);
  auto got = c.ReadUntilFin(err);
  EXPECT_EQ(got[data], "ping over spdy");
  EXPECT_EQ(got[err], "");
}

}  // namespace
}  // namespace berth::cri::streaming
