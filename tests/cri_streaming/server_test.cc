// End to end, in process: the Server with a fake Runtime, driven by small clients of our own
// for WebSocket and SPDY/3.1.
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

namespace berth::cri::streaming {
namespace {

int Dial(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{10, 0};  // a hung test fails instead of blocking forever
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void WriteAllFd(int fd, absl::string_view d) {
  while (!d.empty()) {
    ssize_t n = send(fd, d.data(), d.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    d.remove_prefix(n);
  }
}

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

// Sends an upgrade request for `url` and returns the response head; the socket in `*fd`.
std::string Upgrade(const std::string& url, const std::string& extra_headers, int* fd,
                    std::string* rest) {
  size_t host_end = url.find('/', 7);
  std::string path = url.substr(host_end);
  uint32_t port = 0;
  EXPECT_TRUE(absl::SimpleAtoi(url.substr(url.rfind(':', host_end) + 1,
                                          host_end - url.rfind(':', host_end) - 1),
                               &port));
  *fd = Dial(static_cast<uint16_t>(port));
  WriteAllFd(*fd, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n", extra_headers, "\r\n"));
  std::string buf;
  char c[4096];
  while (buf.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = read(*fd, c, sizeof(c));
    if (n <= 0) break;
    buf.append(c, n);
  }
  size_t end = buf.find("\r\n\r\n");
  *rest = end == std::string::npos ? "" : buf.substr(end + 4);
  return buf.substr(0, end);
}

class WsClient {
 public:
  // Returns the negotiated protocol or "" on failure.
  bool Connect(const std::string& url, const std::string& protocols) {
    head_ = Upgrade(url,
                    absl::StrCat("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                                 "Sec-WebSocket-Version: 13\r\n"
                                 "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                                 "Sec-WebSocket-Protocol: ",
                                 protocols, "\r\n"),
                    &fd_, &buf_);
    return absl::StartsWith(head_, "HTTP/1.1 101") &&
           absl::StrContains(head_, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  }
  ~WsClient() {
    if (fd_ >= 0) close(fd_);
  }
  void Send(uint8_t channel, absl::string_view data) {
    std::string p(1, static_cast<char>(channel));
    p.append(data.data(), data.size());
    WriteAllFd(fd_, ws::EncodeFrame(ws::Opcode::kBinary, p, true, 0xA1B2C3D4u));
  }
  // Reads messages until the server's close frame (or EOF); returns bytes per channel.
  std::map<int, std::string> ReadAll(int* messages_on_error = nullptr) {
    std::map<int, std::string> out;
    char c[4096];
    while (true) {
      size_t consumed;
      auto f = ws::DecodeFrame(buf_, 1 << 24, &consumed);
      if (!f.ok()) return out;
      if (f->has_value()) {
        buf_.erase(0, consumed);
        if ((*f)->opcode == ws::Opcode::kClose) {
          WriteAllFd(fd_, ws::EncodeFrame(ws::Opcode::kClose, (*f)->payload, true, 1u));
          return out;
        }
        if (!(*f)->payload.empty()) {
          int ch = static_cast<uint8_t>((*f)->payload[0]);
          out[ch] += (*f)->payload.substr(1);
          if (ch == 3 && messages_on_error) ++*messages_on_error;
        }
        continue;
      }
      ssize_t n = read(fd_, c, sizeof(c));
      if (n <= 0) return out;
      buf_.append(c, n);
    }
  }
  // Reads until `channel` holds `n` bytes (or the connection ends).
  std::string ReadChannel(int channel, size_t n) {
    std::string got;
    char c[4096];
    while (got.size() < n) {
      size_t consumed;
      auto f = ws::DecodeFrame(buf_, 1 << 24, &consumed);
      if (!f.ok()) break;
      if (f->has_value()) {
        buf_.erase(0, consumed);
        if (!(*f)->payload.empty() && static_cast<uint8_t>((*f)->payload[0]) == channel) {
          got += (*f)->payload.substr(1);
        }
        continue;
      }
      ssize_t r = read(fd_, c, sizeof(c));
      if (r <= 0) break;
      buf_.append(c, r);
    }
    return got;
  }
  const std::string& head() const { return head_; }

 private:
  int fd_ = -1;
  std::string head_, buf_;
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

// A minimal SPDY/3.1 client: one zlib stream per direction, as spdystream keeps them.
class SpdyClient {
 public:
  bool Connect(const std::string& url, const std::string& protocol) {
    head_ = Upgrade(url,
                    absl::StrCat("Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                                 "X-Stream-Protocol-Version: ",
                                 protocol, "\r\n"),
                    &fd_, &buf_);
    return absl::StartsWith(head_, "HTTP/1.1 101");
  }
  ~SpdyClient() {
    if (fd_ >= 0) close(fd_);
  }
  uint32_t Open(spdy::HeaderList headers) {
    uint32_t id = next_id_;
    next_id_ += 2;
    WriteAllFd(fd_, spdy::EncodeSynStream(id, 0, 0, *comp_.Compress(headers)));
    return id;
  }
  void Data(uint32_t id, absl::string_view d, bool fin) {
    WriteAllFd(fd_, spdy::EncodeData(id, d, fin ? spdy::kFlagFin : 0));
  }
  // Collects DATA per stream until stream `until` finishes (FIN) or the connection ends.
  std::map<uint32_t, std::string> ReadUntilFin(uint32_t until) {
    std::map<uint32_t, std::string> out;
    char c[8192];
    while (true) {
      size_t consumed;
      auto f = spdy::DecodeFrame(buf_, 1 << 24, &consumed);
      if (!f.ok()) return out;
      if (f->has_value()) {
        buf_.erase(0, consumed);
        spdy::RawFrame& fr = **f;
        if (fr.control && fr.type == static_cast<uint16_t>(spdy::FrameType::kSynReply)) {
          auto sr = spdy::ParseStreamHeaders(fr.payload);
          EXPECT_TRUE(decomp_.Decompress(sr->second).ok());
          ++replies_;
        } else if (!fr.control) {
          out[fr.stream_id] += fr.payload;
          if (fr.stream_id == until && (fr.flags & spdy::kFlagFin)) return out;
        }
        continue;
      }
      ssize_t n = read(fd_, c, sizeof(c));
      if (n <= 0) return out;
      buf_.append(c, n);
    }
  }
  int replies() const { return replies_; }
  const std::string& head() const { return head_; }

 private:
  int fd_ = -1;
  uint32_t next_id_ = 1;
  int replies_ = 0;
  std::string head_, buf_;
  spdy::HeaderCompressor comp_;
  spdy::HeaderDecompressor decomp_;
};

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
