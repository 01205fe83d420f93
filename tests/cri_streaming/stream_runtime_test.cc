// The pieces of the real streaming runtime that need no shim: the attach point (output taps,
// the container's stdin fifo), port-forward's dial and copy, and the streaming config keys.
// Exec/attach/port-forward against real containers: integration/cri_streaming.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "absl/strings/str_cat.h"
#include "cri/config.h"
#include "cri/io.h"
#include "cri/stream_runtime.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace berth::cri {
namespace {

TEST(AttachPoint, TapsSeeOutputUntilRemoved) {
  AttachPoint ap;
  std::string seen;
  int id = ap.AddTap([&](int stream, absl::string_view d) {
    absl::StrAppend(&seen, stream, ":", d, ";");
  });
  ap.Publish(0, "out");
  ap.Publish(1, "err");
  ap.RemoveTap(id);
  ap.Publish(0, "late");
  EXPECT_EQ(seen, "0:out;1:err;");
  EXPECT_FALSE(ap.ended());
  EXPECT_FALSE(ap.WaitEnded(absl::Milliseconds(10)));
  ap.MarkEnded();
  EXPECT_TRUE(ap.WaitEnded(absl::Milliseconds(10)));
}

TEST(AttachPoint, StdinFifoCarriesBytesAndClosesToEof) {
  AttachPoint ap;
  EXPECT_FALSE(ap.has_stdin());
  EXPECT_TRUE(absl::IsFailedPrecondition(ap.WriteStdin("x")));
  test_support::TempDir tmp("stream-rt");
  std::string fifo = tmp.path() + "/stdin";
  ASSERT_TRUE(ap.OpenStdin(fifo, /*once=*/true).ok());
  EXPECT_TRUE(ap.has_stdin());
  EXPECT_TRUE(ap.stdin_once());
  // The shim's side: a blocking reader, as its stdin copy thread opens it.
  int reader = ::open(fifo.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  ASSERT_TRUE(ap.WriteStdin("hello").ok());
  ap.CloseStdin();
  std::string got;
  char buf[64];
  ssize_t n;
  while ((n = ::read(reader, buf, sizeof(buf))) > 0) got.append(buf, n);
  EXPECT_EQ(n, 0);  // EOF once berthd closed its end
  EXPECT_EQ(got, "hello");
  ::close(reader);
  EXPECT_TRUE(absl::IsFailedPrecondition(ap.WriteStdin("more")));
}

TEST(ContainerLogger, AttachPointSeesContainerOutputAndEnd) {
  test_support::TempDir tmp("stream-rt");
  const std::string& dir = tmp.path();
  ASSERT_TRUE(MakeFifo(dir + "/o").ok());
  ASSERT_TRUE(MakeFifo(dir + "/e").ok());
  auto logger = ContainerLogger::Start(dir + "/o", dir + "/e", dir + "/log", 1024);
  ASSERT_TRUE(logger.ok()) << logger.status();
  auto ap = (*logger)->attach_point();
  absl::Mutex mu;
  std::string seen;
  ap->AddTap([&](int stream, absl::string_view d) {
    absl::MutexLock lock(&mu);
    absl::StrAppend(&seen, stream, d);
  });
  int o = ::open((dir + "/o").c_str(), O_WRONLY | O_CLOEXEC);
  int e = ::open((dir + "/e").c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(o, 0);
  ASSERT_GE(e, 0);
  ASSERT_EQ(::write(o, "a\n", 2), 2);
  ASSERT_TRUE(::close(o) == 0);
  ASSERT_EQ(::write(e, "b\n", 2), 2);
  ASSERT_TRUE(::close(e) == 0);
  EXPECT_TRUE(ap->WaitEnded(absl::Seconds(5)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(seen, "0a\n1b\n");
}

class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    EXPECT_EQ(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
    EXPECT_EQ(::listen(fd_, 4), 0);
    socklen_t len = sizeof(a);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
  }
  ~Listener() { ::close(fd_); }
  int fd() const { return fd_; }
  int port() const { return port_; }

 private:
  int fd_;
  int port_;
};

TEST(PortForward, DialInHostNamespaceAndCopyBothWays) {
  Listener l;
  auto conn = DialInNetns("", l.port());
  ASSERT_TRUE(conn.ok()) << conn.status();
  int server = ::accept4(l.fd(), nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(server, 0);
  // The client side of the streaming server: a socketpair, as the server hands it over.
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair), 0);
  std::thread copier([&] { CopyBothWays(pair[1], *conn); });
  ASSERT_EQ(::write(pair[0], "ping", 4), 4);
  ::shutdown(pair[0], SHUT_WR);
  char buf[16];
  std::string got;
  ssize_t n;
  while ((n = ::read(server, buf, sizeof(buf))) > 0) got.append(buf, n);
  EXPECT_EQ(got, "ping");  // and EOF passed on as a half-close
  ASSERT_EQ(::write(server, "pong", 4), 4);
  ::close(server);
  got.clear();
  while ((n = ::read(pair[0], buf, sizeof(buf))) > 0) got.append(buf, n);
  EXPECT_EQ(got, "pong");
  copier.join();
  ::close(pair[0]);
  ::close(pair[1]);
  ::close(*conn);
}

TEST(PortForward, RefusedPortIsUnavailable) {
  int port;
  {
    Listener l;  // a port that was free a moment ago and now has no listener
    port = l.port();
  }
  auto conn = DialInNetns("", port);
  EXPECT_TRUE(absl::IsUnavailable(conn.status())) << conn.status();
  EXPECT_NE(conn.status().message().find("127.0.0.1"), absl::string_view::npos);
  auto bad = DialInNetns("/nonexistent/netns", port);
  EXPECT_FALSE(bad.ok());
}

TEST(StreamingConfig, KeysDefaultsAndRefusals) {
  toml::table t = toml::parse(R"(
    stream_server_address = "127.0.0.2"
    stream_server_port = "10010"
    stream_idle_timeout = "1h30m"
    [x509_key_pair_streaming]
      tls_cert_file = "/c.pem"
      tls_key_file = "/k.pem"
  )");
  auto cfg = CriConfig::FromToml(&t);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->stream_server_port, "10010");
  EXPECT_EQ(cfg->tls_cert_file, "/c.pem");
  EXPECT_EQ(*cfg->StreamIdleTimeout(), absl::Minutes(90));
  EXPECT_TRUE(cfg->Validate().ok());
  CriConfig defaults;
  EXPECT_EQ(defaults.stream_server_port, "0");
  EXPECT_EQ(*defaults.StreamIdleTimeout(), absl::Hours(4));
  defaults.stream_idle_timeout = "forever";
  EXPECT_TRUE(absl::IsInvalidArgument(defaults.Validate()));
  defaults.stream_idle_timeout = "4h0m0s";
  defaults.enable_tls_streaming = true;
  absl::Status tls = defaults.Validate();
  EXPECT_TRUE(absl::IsUnimplemented(tls)) << tls;
  toml::table unknown = toml::parse("[x509_key_pair_streaming]\n  tls_ca_file = \"x\"\n");
  EXPECT_FALSE(CriConfig::FromToml(&unknown).ok());
}

}  // namespace
}  // namespace berth::cri
