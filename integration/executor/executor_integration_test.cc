// Real containers through berth::executor (root only): lifecycle, limits, seccomp, caps,
// masked paths, user namespaces, a terminal over a console socket.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "executor/executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/executor/bundle.h"

namespace berth::executor {
namespace {

using ::testing::HasSubstr;
using namespace berth::executor::testing;

std::string ReadAll(int fd, int timeout_ms = 10000) {
  std::string out;
  char buf[4096];
  for (;;) {
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

class ExecutorIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts, cgroups)";
    if (access(kBusybox, X_OK) != 0) GTEST_SKIP() << "needs " << kBusybox;
    char tmpl[] = "/tmp/executor-itest.XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);  // container root of a user namespace must reach the rootfs
    bundle_ = dir_ + "/bundle";
    ASSERT_TRUE(MakeRootfs(bundle_));
    id_ = absl::StrCat("itest-", getpid(), "-", ::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = DefaultConfig({"true"}, "/" + TestCgroupParent() + "/" + id_);
    ex_ = std::make_unique<Executor>(dir_ + "/state");
  }
  void TearDown() override {
    if (ex_ != nullptr) (void)ex_->Delete(id_, /*force=*/true);
    if (!dir_.empty()) (void)fs::RemoveAll(dir_);
    RemoveTestCgroupParent();
  }

  // Runs the container in the foreground; returns (exit status, stdout+stderr).
  std::pair<int, std::string> Run() {
    EXPECT_TRUE(WriteConfig(bundle_, config_));
    int p[2];
    EXPECT_EQ(pipe2(p, O_CLOEXEC), 0);
    CreateOptions opts;
    opts.bundle = bundle_;
    opts.stdout_fd = p[1];
    opts.stderr_fd = p[1];
    auto code = ex_->Run(id_, opts, /*detach=*/false);
    close(p[1]);
    std::string out = ReadAll(p[0], 100);
    close(p[0]);
    EXPECT_TRUE(code.ok()) << code.status();
    return {code.ok() ? *code : -1, out};
  }
  void Args(std::vector<std::string> args) { config_["process"]["args"] = args; }

  std::string dir_, bundle_, id_;
  nlohmann::json config_;
  std::unique_ptr<Executor> ex_;
};

TEST_F(ExecutorIntegrationTest, RunPrintsOutputAndExitCode) {
  Args({"sh", "-c", "echo hello $$ $(hostname); exit 3"});
  auto [code, out] = Run();
  EXPECT_EQ(code, 3);
  EXPECT_EQ(out, "hello 1 berth-test\n");
  EXPECT_EQ(ex_->State(id_).status().code(), absl::StatusCode::kNotFound);  // run deletes
}

TEST_F(ExecutorIntegrationTest, Lifecycle) {
  Args({"sleep", "100"});
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  CreateOptions opts;
  opts.bundle = bundle_;
  opts.pid_file = dir_ + "/pid";
  auto pid = ex_->Create(id_, opts);
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_EQ(*fs::ReadFile(dir_ + "/pid"), std::to_string(*pid));
  EXPECT_EQ(ex_->State(id_)->status, "created");
  EXPECT_EQ(ex_->Create(id_, opts).status().code(), absl::StatusCode::kAlreadyExists);
  ASSERT_TRUE(ex_->Start(id_).ok());
  EXPECT_EQ(ex_->State(id_)->status, "running");
  EXPECT_EQ(ex_->Delete(id_, false).code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(ex_->Pause(id_).ok());
  EXPECT_EQ(ex_->State(id_)->status, "paused");
  ASSERT_TRUE(ex_->Resume(id_).ok());
  EXPECT_EQ(ex_->State(id_)->status, "running");
  auto pids = ex_->Ps(id_);
  ASSERT_TRUE(pids.ok());
  EXPECT_THAT(*pids, ::testing::Contains(*pid));
  auto stats = ex_->Stats(id_);
  ASSERT_TRUE(stats.ok());
  EXPECT_GE(stats->pids_current, 1u);
  ExecOptions eo;
  eo.process.args = {"sh", "-c", "exit 5"};
  eo.process.env = {"PATH=/bin"};
  eo.detach = false;
  auto exec_code = ex_->Exec(id_, eo);
  ASSERT_TRUE(exec_code.ok()) << exec_code.status();
  EXPECT_EQ(*exec_code, 5);
  ASSERT_TRUE(ex_->Kill(id_, SIGKILL, false).ok());
  int status = 0;
  ASSERT_EQ(waitpid(*pid, &status, 0), *pid);  // init is our child
  EXPECT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(ex_->State(id_)->status, "stopped");
  ASSERT_TRUE(ex_->Delete(id_, false).ok());
  EXPECT_EQ(ex_->State(id_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(access(("/sys/fs/cgroup/memory/" + TestCgroupParent() + "/" + id_).c_str(), F_OK), 0);
}

// Start opens the init's fifo before it reads any state (ReleaseInit): what is wrong must still
// be named from the state.
TEST_F(ExecutorIntegrationTest, StartErrorsNameTheContainersState) {
  Args({"sleep", "100"});
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  CreateOptions opts;
  opts.bundle = bundle_;
  EXPECT_EQ(ex_->ReleaseInit(id_).code(), absl::StatusCode::kNotFound);
  auto pid = ex_->Create(id_, opts);
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(ex_->ReleaseInit(id_).ok());
  EXPECT_EQ(ex_->State(id_)->status, "running");
  absl::Status again = ex_->Start(id_);
  EXPECT_EQ(again.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(again.message()), ::testing::HasSubstr("in status running"));
  ASSERT_TRUE(ex_->Delete(id_, true).ok());
  waitpid(*pid, nullptr, 0);

  // An init killed while it waits for start: its fifo is still there, nobody writes to it.
  pid = ex_->Create(id_, opts);
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_EQ(kill(*pid, SIGKILL), 0);
  ASSERT_EQ(waitpid(*pid, nullptr, 0), *pid);
  absl::Status dead = ex_->ReleaseInit(id_);
  EXPECT_EQ(dead.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(dead.message()), ::testing::HasSubstr("in status stopped"));
  ASSERT_TRUE(ex_->Delete(id_, true).ok());
}

TEST_F(ExecutorIntegrationTest, MissingExecutableFailsCreate) {
  Args({"/bin/does-not-exist"});
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  CreateOptions opts;
  opts.bundle = bundle_;
  auto pid = ex_->Create(id_, opts);
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(pid.status().message()), HasSubstr("executable file not found"));
  EXPECT_EQ(ex_->State(id_).status().code(), absl::StatusCode::kNotFound);
}

// The cgroup is configured while the init already sets up its rootfs: a bad resource still
// fails Create with the cgroup's error, and leaves no container, cgroup or process behind.
TEST_F(ExecutorIntegrationTest, BadResourceFailsCreateAndLeavesNothing) {
  Args({"sleep", "100"});
  config_["linux"]["resources"] = {{"cpu", {{"cpus", "4096"}}}};  // no such CPU
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  CreateOptions opts;
  opts.bundle = bundle_;
  auto pid = ex_->Create(id_, opts);
  ASSERT_FALSE(pid.ok());
  EXPECT_THAT(std::string(pid.status().message()), HasSubstr("set cgroup resources"));
  EXPECT_EQ(ex_->State(id_).status().code(), absl::StatusCode::kNotFound);
  EXPECT_NE(access(("/sys/fs/cgroup/cpuset/" + TestCgroupParent() + "/" + id_).c_str(), F_OK), 0);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);  // no child left, not even a zombie
}

TEST_F(ExecutorIntegrationTest, MemoryLimitOomKills) {
  config_["linux"]["resources"] = {{"memory", {{"limit", 33554432}}}};
  Args({"sh", "-c", "head -c 200m /dev/zero | tail; exit $?"});
  EXPECT_EQ(Run().first, 137);
}

TEST_F(ExecutorIntegrationTest, PidsLimitStopsForks) {
  config_["linux"]["resources"] = {{"pids", {{"limit", 4}}}};
  Args({"sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 2 & done; echo spawned"});
  auto [code, out] = Run();
  EXPECT_THAT(out, HasSubstr("can't fork"));
}

TEST_F(ExecutorIntegrationTest, SeccompMkdirEperm) {
  config_["linux"]["seccomp"] = {
      {"defaultAction", "SCMP_ACT_ALLOW"},
      {"architectures", {"SCMP_ARCH_X86_64"}},
      {"syscalls", {{{"names", {"mkdir", "mkdirat"}}, {"action", "SCMP_ACT_ERRNO"}, {"errnoRet", 1}}}}};
  Args({"mkdir", "/tmp/blocked"});
  auto [code, out] = Run();
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("Operation not permitted"));
}

TEST_F(ExecutorIntegrationTest, DroppedChownCapability) {
  nlohmann::json caps = DefaultCaps();
  caps.erase(std::find(caps.begin(), caps.end(), "CAP_CHOWN"));
  for (const char* set : {"bounding", "effective", "permitted", "ambient"}) {
    config_["process"]["capabilities"][set] = caps;
  }
  Args({"chown", "1:1", "/tmp"});
  auto [code, out] = Run();
  EXPECT_NE(code, 0);
  EXPECT_THAT(out, HasSubstr("Operation not permitted"));
}

TEST_F(ExecutorIntegrationTest, ChownWorksWithTheCapability) {
  Args({"chown", "1:1", "/tmp"});
  EXPECT_EQ(Run().first, 0);
}

TEST_F(ExecutorIntegrationTest, MaskedKcoreAndReadonlyProcSys) {
  Args({"sh", "-c", "head -c 16 /proc/kcore | wc -c; echo 1 > /proc/sys/kernel/domainname || echo ro"});
  auto [code, out] = Run();
  EXPECT_THAT(out, HasSubstr("0\n"));
  EXPECT_THAT(out, HasSubstr("ro"));
}

// The network namespace is made on a helper thread and joined (background_netns.h): the
// container must still get a fresh one of its own, with nothing but a loopback device.
TEST_F(ExecutorIntegrationTest, FreshNetworkNamespace) {
  Args({"sh", "-c", "readlink /proc/self/ns/net; tail -n +3 /proc/net/dev | cut -d: -f1"});
  auto [code, out] = Run();
  EXPECT_EQ(code, 0) << out;
  char host[64] = {};
  ASSERT_GT(readlink("/proc/self/ns/net", host, sizeof(host) - 1), 0);
  std::vector<std::string> lines = absl::StrSplit(out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_THAT(lines[0], ::testing::StartsWith("net:["));
  EXPECT_NE(lines[0], host);
  EXPECT_EQ(absl::StripAsciiWhitespace(lines[1]), "lo");
}

TEST_F(ExecutorIntegrationTest, UserNamespaceMapping) {
  config_["linux"]["namespaces"].push_back({{"type", "user"}});
  config_["linux"]["uidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  config_["linux"]["gidMappings"] = {{{"containerID", 0}, {"hostID", 100000}, {"size", 65536}}};
  Args({"sh", "-c", "cat /proc/self/uid_map; id -u"});
  auto [code, out] = Run();
  EXPECT_EQ(code, 0) << out;
  EXPECT_THAT(out, ::testing::ContainsRegex("0 +100000 +65536"));
  EXPECT_THAT(out, HasSubstr("\n0\n"));
}

TEST_F(ExecutorIntegrationTest, DeleteKillsLeftoversWithoutPidNamespace) {
  config_["linux"]["namespaces"] = {{{"type", "mount"}}, {{"type", "uts"}}, {{"type", "ipc"}}};
  Args({"sh", "-c", "sleep 100 & exec sleep 101"});
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  CreateOptions opts;
  opts.bundle = bundle_;
  auto pid = ex_->Create(id_, opts);
  ASSERT_TRUE(pid.ok()) << pid.status();
  ASSERT_TRUE(ex_->Start(id_).ok());
  std::vector<pid_t> pids;
  for (int i = 0; i < 100 && pids.size() < 2; ++i) {
    usleep(20000);
    pids = ex_->Ps(id_).value_or(std::vector<pid_t>{});
  }
  ASSERT_EQ(pids.size(), 2u);
  ExecOptions eo;
  eo.process.args = {"sleep", "102"};
  eo.process.env = {"PATH=/bin"};
  eo.pid_file = dir_ + "/exec.pid";
  auto exec_pid = ex_->Exec(id_, eo);
  ASSERT_TRUE(exec_pid.ok()) << exec_pid.status();
  EXPECT_EQ(*fs::ReadFile(dir_ + "/exec.pid"), std::to_string(*exec_pid));
  EXPECT_THAT(*ex_->Ps(id_), ::testing::Contains(*exec_pid));
  ASSERT_TRUE(ex_->Kill(id_, SIGKILL, false).ok());
  waitpid(*pid, nullptr, 0);
  ASSERT_TRUE(ex_->Delete(id_, false).ok());
  waitpid(*exec_pid, nullptr, 0);  // the exec'd process is our child too (CLONE_PARENT)
  usleep(50000);
  for (pid_t p : pids) EXPECT_EQ(ProcessStartTime(p), 0u) << "pid " << p << " survived";
  EXPECT_NE(access(("/sys/fs/cgroup/pids/" + TestCgroupParent() + "/" + id_).c_str(), F_OK), 0);
}

int ReceiveFd(int conn) {
  char name[256];
  char control[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {name, sizeof(name)};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  if (recvmsg(conn, &msg, 0) < 0) return -1;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(fd));
  return fd;
}

TEST_F(ExecutorIntegrationTest, TerminalOverConsoleSocket) {
  config_["process"]["terminal"] = true;
  Args({"sh", "-c", "tty; echo tty-ok"});
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  std::string path = dir_ + "/console.sock";
  int lis = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  ASSERT_EQ(bind(lis, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(lis, 1), 0);
  CreateOptions opts;
  opts.bundle = bundle_;
  opts.console_socket = path;
  auto pid = ex_->Create(id_, opts);
  ASSERT_TRUE(pid.ok()) << pid.status();
  int conn = accept4(lis, nullptr, nullptr, SOCK_CLOEXEC);
  ASSERT_GE(conn, 0);
  int master = ReceiveFd(conn);
  ASSERT_GE(master, 0);
  ASSERT_TRUE(ex_->Start(id_).ok());
  std::string out = ReadAll(master, 5000);
  EXPECT_THAT(out, HasSubstr("/dev/pts/0"));
  EXPECT_THAT(out, HasSubstr("tty-ok"));
  int status = 0;
  waitpid(*pid, &status, 0);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(master);
  close(conn);
  close(lis);
}

}  // namespace
}  // namespace berth::executor
