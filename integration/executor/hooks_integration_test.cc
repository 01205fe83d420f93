// createContainer and startContainer hooks in real containers (root only): where they run
// (the container's namespaces, before / after pivot_root), what they read on stdin, and how
// a failing hook fails create or start.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "executor/executor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/executor/bundle.h"

namespace berth::executor {
namespace {

using ::testing::HasSubstr;
using namespace berth::executor::testing;

class HooksIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts, cgroups)";
    if (access(kBusybox, X_OK) != 0) GTEST_SKIP() << "needs " << kBusybox;
    char tmpl[] = "/tmp/executor-hooks-itest.XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);
    bundle_ = dir_ + "/bundle";
    rootfs_ = bundle_ + "/rootfs";
    ASSERT_TRUE(MakeRootfs(bundle_));
    id_ = absl::StrCat("hooks-", getpid(), "-",
                       ::testing::UnitTest::GetInstance()->current_test_info()->name());
    config_ = DefaultConfig({"true"}, "/" + TestCgroupParent() + "/" + id_);
    ex_ = std::make_unique<Executor>(dir_ + "/state");
  }
  void TearDown() override {
    if (ex_ != nullptr) (void)ex_->Delete(id_, /*force=*/true);
    if (!dir_.empty()) (void)fs::RemoveAll(dir_);
    RemoveTestCgroupParent();
  }

  // A host script for createContainer (its path resolves in the runtime namespace).
  std::string HostScript(const std::string& name, const std::string& body) {
    std::string path = dir_ + "/" + name;
    EXPECT_TRUE(fs::WriteFileAtomic(path, "#!/bin/sh\n" + body + "\n", 0755).ok());
    return path;
  }
  static nlohmann::json Hook(const std::string& path, std::vector<std::string> args,
                             int timeout = 0) {
    nlohmann::json h = {{"path", path}, {"args", args}, {"env", {"PATH=/usr/bin:/bin"}}};
    if (timeout > 0) h["timeout"] = timeout;
    return h;
  }
  absl::StatusOr<pid_t> Create() {
    EXPECT_TRUE(WriteConfig(bundle_, config_));
    CreateOptions opts;
    opts.bundle = bundle_;
    return ex_->Create(id_, opts);
  }
  // The user process leaves /user-process-ran: proof it was (not) executed.
  void MarkUserProcess() {
    config_["process"]["args"] = {"sh", "-c", "echo yes > /user-process-ran"};
  }
  void Reap(pid_t pid) {
    int status;
    waitpid(pid, &status, 0);  // the init is our child
  }

  std::string dir_, bundle_, rootfs_, id_;
  nlohmann::json config_;
  std::unique_ptr<Executor> ex_;
};

TEST_F(HooksIntegrationTest, CreateAndStartContainerHooksRunInTheContainer) {
  // createContainer: before pivot_root, so the rootfs is still at its host path, but inside
  // the container's mount and uts namespaces: the container's /proc is mounted there and the
  // hostname is the container's.
  std::string create = HostScript(
      "create-hook.sh",
      "m=" + rootfs_ + "/create-marker\n"
      "cat > $m.state\n"
      "test -e " + rootfs_ + "/proc/self/status && echo proc-mounted >> $m\n"
      "echo host=$(hostname) >> $m\n");
  config_["hooks"]["createContainer"] = {Hook(create, {"create-hook.sh"}, 10)};
  // startContainer: after pivot_root, its path resolves in the container (busybox sh).
  config_["hooks"]["startContainer"] = {
      Hook("/bin/sh", {"sh", "-c", "cat > /start-marker.state; echo started > /start-marker"},
           10)};
  auto pid = Create();
  ASSERT_TRUE(pid.ok()) << pid.status();
  auto created = fs::ReadFile(rootfs_ + "/create-marker");
  ASSERT_TRUE(created.ok()) << "createContainer hook did not run";
  EXPECT_EQ(*created, "proc-mounted\nhost=berth-test\n");
  EXPECT_NE(access((rootfs_ + "/proc/self/status").c_str(), F_OK), 0);  // not in ours
  auto state = nlohmann::json::parse(*fs::ReadFile(rootfs_ + "/create-marker.state"));
  EXPECT_EQ(state["id"], id_);
  EXPECT_EQ(state["status"], "creating");
  EXPECT_EQ(state["pid"], 1);  // as the container sees itself (new pid namespace)
  EXPECT_EQ(state["bundle"], bundle_);
  EXPECT_NE(access((rootfs_ + "/start-marker").c_str(), F_OK), 0) << "ran before start";

  ASSERT_TRUE(ex_->Start(id_).ok());
  EXPECT_EQ(*fs::ReadFile(rootfs_ + "/start-marker"), "started\n");
  auto start_state = nlohmann::json::parse(*fs::ReadFile(rootfs_ + "/start-marker.state"));
  EXPECT_EQ(start_state["status"], "created");
  EXPECT_EQ(start_state["id"], id_);
  Reap(*pid);
}

// poststart (after start) and poststop (at delete) run in the runtime's namespaces with the
// state on stdin. Start and Delete read config.json only when create found such hooks.
TEST_F(HooksIntegrationTest, PoststartAndPoststopHooksRunOnTheHost) {
  std::string log = dir_ + "/hooks.log";
  std::string hook = HostScript("log-hook.sh", "read state; echo \"$1 $state\" >> " + log);
  config_["process"]["args"] = {"sleep", "100"};
  config_["hooks"]["poststart"] = {Hook(hook, {"log-hook.sh", "poststart"}, 10)};
  config_["hooks"]["poststop"] = {Hook(hook, {"log-hook.sh", "poststop"}, 10)};
  auto pid = Create();
  ASSERT_TRUE(pid.ok()) << pid.status();
  EXPECT_NE(access(log.c_str(), F_OK), 0) << "a hook ran before start";
  ASSERT_TRUE(ex_->Start(id_).ok());
  auto after_start = fs::ReadFile(log);
  ASSERT_TRUE(after_start.ok()) << "poststart did not run";
  EXPECT_THAT(*after_start, HasSubstr("poststart {"));
  EXPECT_THAT(*after_start, HasSubstr("\"status\":\"running\""));
  ASSERT_TRUE(ex_->Kill(id_, SIGKILL, false).ok());
  Reap(*pid);
  ASSERT_TRUE(ex_->Delete(id_, false).ok());
  auto after_delete = fs::ReadFile(log);
  ASSERT_TRUE(after_delete.ok());
  EXPECT_THAT(*after_delete, HasSubstr("poststop {"));
  EXPECT_THAT(*after_delete, HasSubstr("\"status\":\"stopped\""));
}

// Without the hooks at create, hooks added to config.json afterwards do not run (as with runc,
// which keeps the config it was created with).
TEST_F(HooksIntegrationTest, PoststopHooksAreTheOnesOfCreate) {
  std::string log = dir_ + "/hooks.log";
  auto pid = Create();
  ASSERT_TRUE(pid.ok()) << pid.status();
  config_["hooks"]["poststop"] = {
      Hook(HostScript("late.sh", "echo late >> " + log), {"late.sh"}, 10)};
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  ASSERT_TRUE(ex_->Delete(id_, true).ok());
  Reap(*pid);
  EXPECT_NE(access(log.c_str(), F_OK), 0);
}

TEST_F(HooksIntegrationTest, FailingCreateContainerHookFailsCreate) {
  std::string fail = HostScript("failing-create-hook.sh", "exit 3");
  config_["hooks"]["createContainer"] = {Hook(fail, {"failing-create-hook.sh"})};
  auto pid = Create();
  ASSERT_FALSE(pid.ok());
  EXPECT_THAT(std::string(pid.status().message()),
              HasSubstr("createContainer hook " + fail + " failed: exit status 3"));
  EXPECT_EQ(ex_->State(id_).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(HooksIntegrationTest, CreateContainerHookTimeout) {
  std::string slow = HostScript("slow-hook.sh", "sleep 30");
  config_["hooks"]["createContainer"] = {Hook(slow, {"slow-hook.sh"}, 1)};
  auto t0 = std::chrono::steady_clock::now();
  auto pid = Create();
  ASSERT_FALSE(pid.ok());
  EXPECT_EQ(pid.status().code(), absl::StatusCode::kDeadlineExceeded) << pid.status();
  EXPECT_THAT(std::string(pid.status().message()), HasSubstr(slow + ": timed out after 1s"));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(10));
}

TEST_F(HooksIntegrationTest, FailingStartContainerHookFailsStart) {
  config_["hooks"]["startContainer"] = {Hook("/bin/sh", {"sh", "-c", "exit 4"})};
  MarkUserProcess();
  auto pid = Create();
  ASSERT_TRUE(pid.ok()) << pid.status();
  absl::Status st = ex_->Start(id_);
  ASSERT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()),
              HasSubstr("startContainer hook /bin/sh failed: exit status 4"));
  Reap(*pid);
  EXPECT_EQ(ex_->State(id_)->status, "stopped");
  EXPECT_NE(access((rootfs_ + "/user-process-ran").c_str(), F_OK), 0);
}

TEST_F(HooksIntegrationTest, RunRunsStartContainerHooksAndFailsOnThem) {
  config_["hooks"]["startContainer"] = {
      Hook("/bin/sh", {"sh", "-c", "echo run > /run-marker"})};
  MarkUserProcess();
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  CreateOptions opts;
  opts.bundle = bundle_;
  auto code = ex_->Run(id_, opts, /*detach=*/false);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(*code, 0);
  EXPECT_EQ(*fs::ReadFile(rootfs_ + "/run-marker"), "run\n");
  EXPECT_EQ(*fs::ReadFile(rootfs_ + "/user-process-ran"), "yes\n");

  unlink((rootfs_ + "/user-process-ran").c_str());
  config_["hooks"]["startContainer"] = {Hook("/bin/sh", {"sh", "-c", "exit 5"})};
  ASSERT_TRUE(WriteConfig(bundle_, config_));
  code = ex_->Run(id_, opts, /*detach=*/false);
  ASSERT_FALSE(code.ok());
  EXPECT_THAT(std::string(code.status().message()),
              HasSubstr("startContainer hook /bin/sh failed: exit status 5"));
  EXPECT_NE(access((rootfs_ + "/user-process-ran").c_str(), F_OK), 0);
}

}  // namespace
}  // namespace berth::executor
