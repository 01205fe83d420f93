// CRI Exec/Attach/PortForward end to end as root: a real berthd (the daemon-start pattern of
// integration/cri), a local busybox image, and the URLs the RPCs return driven by our own
// WebSocket and SPDY/3.1 clients (tests/cri_streaming/client.h) and by node's `ws` package.
// Exec/attach pods use the host network (no CNI needed); the pod-network port-forward case
// needs the CNI plugins in /usr/lib/cni and skips without them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "core/fs.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "integration/cri/cri_daemon.h"
#include "proto/cri_api.h"
#include "tests/cri_streaming/client.h"

namespace {

namespace v1 = ::runtime::v1;
using berth::cri::streaming::testing::SpdyClient;
using berth::cri::streaming::testing::WsClient;
constexpr char kImage[] = "berth.local/busybox:latest";

// /tmp/berth-cri-stream-XXXXXX, made at its first use; TearDownTestSuite removes it (EndSuite).
std::unique_ptr<berth::test_support::TempDir> suite_dir;
std::string Dir() {
  if (suite_dir == nullptr) {
    suite_dir = std::make_unique<berth::test_support::TempDir>("cri-stream");
  }
  return suite_dir->path();
}
std::string Sock() { return Dir() + "/d.sock"; }
using berth::cri_test::Ctx;
using berth::cri_test::Daemon;
using berth::cri_test::HaveCni;

// The exit code in a v4/v5 status (0 for Success), -1 when unreadable.
int ExitCode(const std::string& status_json) {
  auto j = nlohmann::json::parse(status_json, nullptr, false);
  if (!j.is_object()) return -1;
  if (j.value("status", "") == "Success") return 0;
  try {
    return std::stoi(j["details"]["causes"][0]["message"].get<std::string>());
  } catch (...) {
    return -1;
  }
}

sockaddr_in Ipv4(in_addr_t host_order_addr, int port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(host_order_addr);
  return a;
}

// A port free on the host right now, for the echo servers: a random one of 600-999 that binds.
// Not a kernel-chosen one: under ctest -j other tests' servers (registries, berthd's streaming
// server) listen on ports of the ephemeral range, so one could take it before nc listens, or be
// taken for the pod's server by the host-side check; the suite's servers never use these.
int FreePort() {
  for (;;) {
    int port = 600 + static_cast<int>(::random() % 400);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = Ipv4(INADDR_ANY, port);
    bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    ::close(fd);
    if (free) return port;
  }
}

class CriStreamingTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (::geteuid() != 0) return;
    std::string conf = Dir() + "/net.d";
    ::mkdir(conf.c_str(), 0755);
    std::ofstream(Dir() + "/config.toml")
        << "version = 2\n[plugins.\"io.containerd.grpc.v1.cri\"]\n  stream_idle_timeout = \"10m\"\n"
        << "[plugins.\"io.containerd.grpc.v1.cri\".cni]\n  bin_dir = \"/usr/lib/cni\"\n  conf_dir = \""
        << conf << "\"\n";
    if (HaveCni()) {  // its own bridge and subnet: integration/cri may run beside us
      std::ofstream(conf + "/10-berth-stream.conflist") << R"({"cniVersion":"1.0.0","name":"berth-stream-test","plugins":[
        {"type":"bridge","bridge":"berthcs0","isGateway":true,"ipMasq":false,
         "ipam":{"type":"host-local","ranges":[[{"subnet":"10.233.72.0/24"}]],"dataDir":")" + Dir() + R"(/ipam"}},
        {"type":"loopback"}]})";
    }
    daemon_ = new Daemon(Dir());
    ASSERT_TRUE(daemon_->Start()) << berth::fs::ReadFile(Dir() + "/daemon.log").value_or("");
    std::string tar = Dir() + "/busybox.tar";
    std::string cmd = std::string("bash ") + BUSYBOX_IMAGE_SCRIPT + " " + tar + " " + kImage +
                      " >/dev/null && ctr -a " + Sock() + " -n k8s.io images import " + tar +
                      " >/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0);
  }
  static void TearDownTestSuite() {
    berth::cri_test::EndSuite(daemon_, suite_dir);
    if (std::system("ip link del berthcs0 2>/dev/null") != 0) {
    }
  }
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "CRI streaming integration tests need root";
    ASSERT_NE(daemon_, nullptr);
  }

  static v1::PodSandboxConfig Pod(const std::string& name, bool host_network) {
    v1::PodSandboxConfig c;
    c.mutable_metadata()->set_name(name);
    c.mutable_metadata()->set_namespace_("default");
    c.mutable_metadata()->set_uid(name + "-uid");
    c.set_hostname(name);
    c.set_log_directory(Dir() + "/logs/" + name);
    if (host_network) {
      c.mutable_linux()->mutable_security_context()->mutable_namespace_options()->set_network(v1::NODE);
    }
    return c;
  }

  // Runs a pod and one started container in it; returns {pod id, container id}.
  std::pair<std::string, std::string> Start(const std::string& name, bool host_network,
                                            const std::string& script, bool stdin = false,
                                            bool stdin_once = false, bool tty = false) {
    v1::PodSandboxConfig pod = Pod(name, host_network);
    v1::RunPodSandboxRequest preq;
    *preq.mutable_config() = pod;
    v1::RunPodSandboxResponse presp;
    auto st = daemon_->rt().RunPodSandbox(Ctx().get(), preq, &presp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    v1::CreateContainerRequest creq;
    creq.set_pod_sandbox_id(presp.pod_sandbox_id());
    *creq.mutable_sandbox_config() = pod;
    auto* cc = creq.mutable_config();
    cc->mutable_metadata()->set_name("main");
    cc->mutable_image()->set_image(kImage);
    for (const char* a : {"sh", "-c"}) cc->add_command(a);
    cc->add_args(script);
    cc->set_log_path("main.log");
    cc->set_stdin(stdin);
    cc->set_stdin_once(stdin_once);
    cc->set_tty(tty);
    v1::CreateContainerResponse cresp;
    st = daemon_->rt().CreateContainer(Ctx().get(), creq, &cresp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    v1::StartContainerRequest sreq;
    sreq.set_container_id(cresp.container_id());
    v1::StartContainerResponse sresp;
    st = daemon_->rt().StartContainer(Ctx().get(), sreq, &sresp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {presp.pod_sandbox_id(), cresp.container_id()};
  }

  void RemovePod(const std::string& pod_id) {
    v1::RemovePodSandboxRequest req;
    req.set_pod_sandbox_id(pod_id);
    v1::RemovePodSandboxResponse resp;
    EXPECT_TRUE(daemon_->rt().RemovePodSandbox(Ctx().get(), req, &resp).ok());
  }

  std::string ExecUrl(const std::string& cid, std::vector<std::string> cmd, bool in, bool tty) {
    v1::ExecRequest req;
    req.set_container_id(cid);
    for (auto& a : cmd) req.add_cmd(a);
    req.set_stdin(in);
    req.set_stdout(true);
    req.set_stderr(!tty);
    req.set_tty(tty);
    v1::ExecResponse resp;
    auto st = daemon_->rt().Exec(Ctx().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.url();
  }

  std::string AttachUrl(const std::string& cid, bool in, bool tty = false) {
    v1::AttachRequest req;
    req.set_container_id(cid);
    req.set_stdin(in);
    req.set_stdout(true);
    req.set_stderr(!tty);
    req.set_tty(tty);
    v1::AttachResponse resp;
    auto st = daemon_->rt().Attach(Ctx().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.url();
  }

  std::string PortForwardUrl(const std::string& pod_id, int port) {
    v1::PortForwardRequest req;
    req.set_pod_sandbox_id(pod_id);
    if (port > 0) req.add_port(port);
    v1::PortForwardResponse resp;
    auto st = daemon_->rt().PortForward(Ctx().get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return resp.url();
  }

  static Daemon* daemon_;
};
Daemon* CriStreamingTest::daemon_ = nullptr;

TEST_F(CriStreamingTest, ExecWithStdinOverWebSocketAndSpdy) {
  auto [pod, cid] = Start("exec-stdin", true, "exec sleep 300");
  {  // WebSocket v5: stdin closed with the close channel, cat ends, exit 0.
    WsClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"cat"}, true, false), "v5.channel.k8s.io")) << c.head();
    c.Send(0, "hello ");
    c.Send(0, "websocket\n");
    c.Send(255, std::string(1, '\0'));
    auto out = c.ReadAll();
    EXPECT_EQ(out[1], "hello websocket\n");
    EXPECT_EQ(ExitCode(out[3]), 0) << out[3];
  }
  {  // SPDY v4: stdin ends with FIN.
    SpdyClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"cat"}, true, false), "v4.channel.k8s.io")) << c.head();
    uint32_t err = c.Open({{"streamtype", "error"}});
    uint32_t in = c.Open({{"streamtype", "stdin"}});
    uint32_t out = c.Open({{"streamtype", "stdout"}});
    c.Open({{"streamtype", "stderr"}});
    c.Data(in, "hello spdy\n", /*fin=*/true);
    auto got = c.ReadUntilFin(err);
    EXPECT_EQ(got[out], "hello spdy\n");
    EXPECT_EQ(ExitCode(got[err]), 0) << got[err];
  }
  RemovePod(pod);
}

TEST_F(CriStreamingTest, ExitCodeAndStderrPropagate) {
  auto [pod, cid] = Start("exec-exit", true, "exec sleep 300");
  {
    WsClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"sh", "-c", "echo out; echo err >&2; exit 7"}, false, false),
                          "v4.channel.k8s.io"));
    auto out = c.ReadAll();
    EXPECT_EQ(out[1], "out\n");
    EXPECT_EQ(out[2], "err\n");
    EXPECT_EQ(ExitCode(out[3]), 7) << out[3];
  }
  {
    SpdyClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"sh", "-c", "exit 42"}, false, false), "v4.channel.k8s.io"));
    uint32_t err = c.Open({{"streamtype", "error"}});
    c.Open({{"streamtype", "stdout"}});
    c.Open({{"streamtype", "stderr"}});
    auto got = c.ReadUntilFin(err);
    EXPECT_EQ(ExitCode(got[err]), 42) << got[err];
  }
  {  // A command that does not exist: an error on the status channel, not a hang.
    WsClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"/no/such/binary"}, false, false), "v4.channel.k8s.io"));
    auto out = c.ReadAll();
    EXPECT_NE(ExitCode(out[3]), 0) << out[3];
  }
  RemovePod(pod);
}

TEST_F(CriStreamingTest, ExecTtyResizeOverWebSocketAndSpdy) {
  auto [pod, cid] = Start("exec-tty", true, "exec sleep 300");
  {
    WsClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"sh"}, true, true), "v5.channel.k8s.io"));
    c.Send(4, R"({"Width":100,"Height":30})");
    ::usleep(300 * 1000);  // the resize goes through the shim before stty asks
    c.Send(0, "tty; stty size; exit 3\n");
    c.ReadUntilContains(3, "}");
    auto all = c.ReadAll();
    std::string text = all[1];
    EXPECT_TRUE(absl::StrContains(text, "/dev/pts/")) << text;
    EXPECT_TRUE(absl::StrContains(text, "30 100")) << text;
    EXPECT_EQ(ExitCode(all[3]), 3) << all[3];
  }
  {
    SpdyClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"sh"}, true, true), "v4.channel.k8s.io"));
    uint32_t err = c.Open({{"streamtype", "error"}});
    uint32_t in = c.Open({{"streamtype", "stdin"}});
    uint32_t out = c.Open({{"streamtype", "stdout"}});
    uint32_t resize = c.Open({{"streamtype", "resize"}});
    c.Data(resize, R"({"Width":81,"Height":22})", false);
    ::usleep(300 * 1000);
    c.Data(in, "stty size; exit\n", false);
    auto got = c.ReadUntilFin(err);
    EXPECT_TRUE(absl::StrContains(got[out], "22 81")) << got[out];
    EXPECT_EQ(ExitCode(got[err]), 0) << got[err];
  }
  RemovePod(pod);
}

TEST_F(CriStreamingTest, ExecIsKilledWhenTheClientHangsUp) {
  auto [pod, cid] = Start("exec-hangup", true, "exec sleep 300");
  {
    WsClient c;
    ASSERT_TRUE(c.Connect(ExecUrl(cid, {"sleep", "4242"}, false, false), "v4.channel.k8s.io"));
  }  // closed without a word
  bool gone = false;
  for (int i = 0; i < 50 && !gone; ++i) {
    ::usleep(100 * 1000);
    v1::ExecSyncRequest req;
    req.set_container_id(cid);
    for (const char* a : {"ps", "-o", "args"}) req.add_cmd(a);
    req.set_timeout(10);
    v1::ExecSyncResponse resp;
    ASSERT_TRUE(daemon_->rt().ExecSync(Ctx().get(), req, &resp).ok());
    gone = !absl::StrContains(resp.stdout(), "sleep 4242");
  }
  EXPECT_TRUE(gone) << "the exec outlived its client";
  RemovePod(pod);
}

TEST_F(CriStreamingTest, AttachSeesOutputAndFeedsStdin) {
  // Output: a container that ticks; attach without stdin over both transports.
  auto [pod, cid] = Start("attach-out", true,
                          "i=0; while true; do echo tick $i; i=$((i+1)); sleep 0.2; done");
  {
    WsClient c;
    ASSERT_TRUE(c.Connect(AttachUrl(cid, false), "v4.channel.k8s.io"));
    EXPECT_TRUE(absl::StrContains(c.ReadUntilContains(1, "tick"), "tick"));
  }
  {
    SpdyClient c;
    ASSERT_TRUE(c.Connect(AttachUrl(cid, false), "v4.channel.k8s.io"));
    c.Open({{"streamtype", "error"}});
    uint32_t out = c.Open({{"streamtype", "stdout"}});
    c.Open({{"streamtype", "stderr"}});
    auto got = c.ReadUntil([&](const auto& d) { return d.count(out) && absl::StrContains(d.at(out), "tick"); });
    EXPECT_TRUE(absl::StrContains(got[out], "tick"));
  }
  RemovePod(pod);
  // Stdin: a container created with stdin=true reads lines; two attaches in a row both reach
  // it (stdin_once=false), the echo comes back through the output tap.
  auto [pod2, cid2] = Start("attach-in", true, "while read l; do echo got:$l; done; echo stdin-ended",
                            /*stdin=*/true);
  for (const char* word : {"first", "second"}) {
    WsClient c;
    ASSERT_TRUE(c.Connect(AttachUrl(cid2, true), "v5.channel.k8s.io"));
    c.Send(0, absl::StrCat(word, "\n"));
    std::string want = absl::StrCat("got:", word);
    EXPECT_TRUE(absl::StrContains(c.ReadUntilContains(1, want), want))
        << "attach stdin did not reach the container (StartContainer must pass the stdin fifo)";
  }
  RemovePod(pod2);
  // stdin_once: the first attach's end closes the container's stdin.
  auto [pod3, cid3] = Start("attach-once", true, "while read l; do echo got:$l; done; echo stdin-ended; sleep 300",
                            /*stdin=*/true, /*stdin_once=*/true);
  {
    WsClient c;
    ASSERT_TRUE(c.Connect(AttachUrl(cid3, true), "v5.channel.k8s.io"));
    c.Send(0, "only\n");
    EXPECT_TRUE(absl::StrContains(c.ReadUntilContains(1, "got:only"), "got:only"));
  }
  std::string log;
  for (int i = 0; i < 50 && !absl::StrContains(log, "stdin-ended"); ++i) {
    ::usleep(100 * 1000);
    log = berth::fs::ReadFile(Dir() + "/logs/attach-once/main.log").value_or("");
  }
  EXPECT_TRUE(absl::StrContains(log, "stdin-ended")) << log;
  RemovePod(pod3);
}

TEST_F(CriStreamingTest, AttachToTtyContainerWithResize) {
  auto [pod, cid] = Start("attach-tty", true, "exec sh", /*stdin=*/true, false, /*tty=*/true);
  WsClient c;
  ASSERT_TRUE(c.Connect(AttachUrl(cid, true, /*tty=*/true), "v5.channel.k8s.io"));
  c.Send(4, R"({"Width":90,"Height":20})");
  ::usleep(300 * 1000);
  c.Send(0, "stty size; tty\n");
  EXPECT_TRUE(absl::StrContains(c.ReadUntilContains(1, "20 90"), "20 90"))
      << "no resize through ResizePty, or no terminal (StartContainer must pass tty)";
  EXPECT_TRUE(absl::StrContains(c.ReadUntilContains(1, "/dev/pts/"), "/dev/pts/"));
  RemovePod(pod);
}

// Forwards to an echo server (busybox nc -ll -e cat) over both transports.
void CheckForward(const std::string& ws_url, const std::string& spdy_url, int port) {
  {
    WsClient c;
    ASSERT_TRUE(c.Connect(ws_url, "v4.channel.k8s.io")) << c.head();
    c.Send(0, "ping over ws\n");
    std::string prefix(2, '\0');
    prefix[0] = static_cast<char>(port & 0xFF);
    prefix[1] = static_cast<char>(port >> 8);
    EXPECT_EQ(c.ReadChannel(0, prefix.size() + 13), prefix + "ping over ws\n");
  }
  {
    SpdyClient c;
    ASSERT_TRUE(c.Connect(spdy_url, "portforward.k8s.io")) << c.head();
    std::string p = std::to_string(port);
    uint32_t err = c.Open({{"streamtype", "error"}, {"port", p}, {"requestid", "0"}});
    uint32_t data = c.Open({{"streamtype", "data"}, {"port", p}, {"requestid", "0"}});
    c.Data(data, "ping over spdy\n", false);
    auto got = c.ReadUntil([&](const auto& d) { return d.count(data) && d.at(data).size() >= 15; });
    EXPECT_EQ(got[data], "ping over spdy\n");
    EXPECT_EQ(got[err], "");
  }
}

bool HostPortOpen(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a = Ipv4(INADDR_LOOPBACK, port);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  ::close(fd);
  return ok;
}

TEST_F(CriStreamingTest, PortForwardIntoHostNetworkPod) {
  int port = FreePort();
  auto [pod, cid] = Start("pf-host", true, absl::StrCat("exec nc -ll -p ", port, " -e cat"));
  for (int i = 0; i < 50 && !HostPortOpen(port); ++i) ::usleep(100 * 1000);
  CheckForward(PortForwardUrl(pod, port), PortForwardUrl(pod, 0), port);
  RemovePod(pod);
}

TEST_F(CriStreamingTest, PortForwardIntoPodNetwork) {
  if (!HaveCni()) GTEST_SKIP() << "no CNI plugins in /usr/lib/cni: pod-network port-forward skipped";
  int port = FreePort();
  auto [pod, cid] = Start("pf-pod", false, absl::StrCat("exec nc -ll -p ", port, " -e cat"));
  ::usleep(500 * 1000);  // nc listening inside the pod
  EXPECT_FALSE(HostPortOpen(port)) << "the server should only listen in the pod's netns";
  CheckForward(PortForwardUrl(pod, port), PortForwardUrl(pod, 0), port);
  RemovePod(pod);
}

TEST_F(CriStreamingTest, NodeWsClientDrivesExec) {
  if (std::system("command -v node >/dev/null 2>&1") != 0) GTEST_SKIP() << "node is not installed";
  if (::access("/usr/share/nodejs/ws/package.json", R_OK) != 0) {
    GTEST_SKIP() << "/usr/share/nodejs/ws is missing (apt-get install node-ws)";
  }
  auto [pod, cid] = Start("node-ws", true, "exec sleep 300");
  std::string url = ExecUrl(cid, {"sh", "-c", "cat; exit 5"}, true, false);
  std::string out = Dir() + "/node.out";
  std::string cmd = absl::StrCat("node ", WS_EXEC_SCRIPT, " '", url, "' 'from node\n' 'from node\n' 5 >",
                                 out, " 2>&1");
  int rc = std::system(cmd.c_str());
  EXPECT_EQ(rc, 0) << berth::fs::ReadFile(out).value_or("");
  auto result = nlohmann::json::parse(berth::fs::ReadFile(out).value_or("{}"), nullptr, false);
  EXPECT_EQ(result.value("protocol", ""), "v5.channel.k8s.io") << result.dump();
  RemovePod(pod);
}

// Last: berthd stops promptly while sessions are open (the streaming server hangs them up and
// kills the exec), and serves again after a restart.
TEST_F(CriStreamingTest, DaemonStopsWithOpenSessions) {
  auto [pod, cid] = Start("shutdown", true, "while true; do echo tick; sleep 0.2; done");
  WsClient exec, attach;
  ASSERT_TRUE(exec.Connect(ExecUrl(cid, {"sleep", "4343"}, true, false), "v4.channel.k8s.io"));
  ASSERT_TRUE(attach.Connect(AttachUrl(cid, false), "v4.channel.k8s.io"));
  EXPECT_TRUE(absl::StrContains(attach.ReadUntilContains(1, "tick"), "tick"));
  EXPECT_TRUE(daemon_->Stop(absl::Seconds(20))) << "berthd needed SIGKILL with sessions open";
  attach.ReadAll();  // the server's end is gone: this returns
  ASSERT_TRUE(daemon_->Start());
  WsClient again;
  ASSERT_TRUE(again.Connect(ExecUrl(cid, {"sh", "-c", "echo back"}, false, false), "v4.channel.k8s.io"));
  EXPECT_EQ(again.ReadAll()[1], "back\n");
  RemovePod(pod);
}

}  // namespace
