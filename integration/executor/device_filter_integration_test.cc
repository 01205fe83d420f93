// The cgroup v2 device filter loaded and attached for real (root only): a process in a cgroup
// under the host's cgroup2 mount gets EPERM opening a denied device and opens an allowed one.
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "executor/cgroups.h"
#include "executor/device_filter.h"
#include "gtest/gtest.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

namespace berth::executor {
namespace {

std::string Cgroup2Mount() {
  for (const char* m : {"/sys/fs/cgroup/unified", "/sys/fs/cgroup"}) {
    struct statfs s;
    if (statfs(m, &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC) return m;
  }
  return "";
}

DeviceRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                std::optional<int64_t> minor, std::string access) {
  return {allow, std::move(type), major, minor, std::move(access)};
}

class DeviceFilterIntegrationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (bpf, cgroups)";
    std::string mount = Cgroup2Mount();
    if (mount.empty()) GTEST_SKIP() << "no cgroup2 mount at /sys/fs/cgroup[/unified]";
    // Can this kernel load the program at all? Skip naming the errno if not.
    auto prog = LoadDeviceFilter(*DeviceFilterProgram({Rule(true, "a", {}, {}, "rwm")}));
    if (!prog.ok()) GTEST_SKIP() << "kernel refuses BPF_PROG_LOAD: " << prog.status();
    close(*prog);
    dir_ = absl::StrCat(mount, "/berth-devfilter-", getpid());
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0) << strerror(errno);
  }
  void TearDown() override {
    if (child_ > 0) {
      kill(child_, SIGKILL);
      waitpid(child_, nullptr, 0);
    }
    if (!dir_.empty()) {
      EXPECT_EQ(rmdir(dir_.c_str()), 0) << strerror(errno);
    }
  }

  // Forks a child, moves it into the cgroup, and has it open `path` with `flags`.
  // Returns 0 when the open worked, else its errno.
  int OpenInCgroup(const char* path, int flags) {
    int go[2], result[2];
    if (pipe2(go, O_CLOEXEC) != 0 || pipe2(result, O_CLOEXEC) != 0) return -1;
    child_ = fork();
    if (child_ == 0) {  // after fork: system calls only
      char c;
      close(go[1]);
      if (read(go[0], &c, 1) != 1) _exit(1);
      int fd = open(path, flags | O_CLOEXEC);
      int err = fd >= 0 ? 0 : errno;
      (void)!write(result[1], &err, sizeof(err));
      _exit(0);
    }
    close(go[0]);
    close(result[1]);
    EXPECT_TRUE(WriteCgroupFile(dir_, "cgroup.procs", std::to_string(child_)).ok());
    (void)!write(go[1], "g", 1);
    close(go[1]);
    int err = -1;
    if (read(result[0], &err, sizeof(err)) != sizeof(err)) err = -1;
    close(result[0]);
    waitpid(child_, nullptr, 0);
    child_ = -1;
    return err;
  }

  std::string dir_;
  pid_t child_ = -1;
};

TEST_F(DeviceFilterIntegrationTest, DeniesNullWritesAllowsZero) {
  std::vector<DeviceRule> rules = {Rule(false, "a", {}, {}, "rwm"), Rule(true, "c", 1, 5, "rwm"),
                                   Rule(true, "c", 1, 3, "rwm"), Rule(false, "c", 1, 3, "w")};
  ASSERT_TRUE(ApplyDeviceFilter(dir_, rules).ok());
  EXPECT_EQ(OpenInCgroup("/dev/null", O_WRONLY), EPERM);
  EXPECT_EQ(OpenInCgroup("/dev/null", O_RDONLY), 0);
  EXPECT_EQ(OpenInCgroup("/dev/zero", O_WRONLY), 0);
  EXPECT_EQ(OpenInCgroup("/dev/full", O_RDONLY), EPERM);  // c 1:7: only the deny-all matches
  // Outside the cgroup nothing changed.
  int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
  EXPECT_GE(fd, 0);
  close(fd);
}

TEST_F(DeviceFilterIntegrationTest, V2ManagerSetReplacesTheRules) {
  std::string mount = Cgroup2Mount();
  auto m = NewV2Manager(dir_, mount);
  Resources r;
  r.devices = {Rule(false, "a", {}, {}, "rwm"), Rule(true, "c", 1, 5, "rwm")};
  ASSERT_TRUE(m->Set(r).ok());
  EXPECT_EQ(OpenInCgroup("/dev/null", O_WRONLY), EPERM);
  EXPECT_EQ(OpenInCgroup("/dev/zero", O_RDONLY), 0);
  // A second Set detaches the first program (with ALLOW_MULTI both would have to allow).
  r.devices.push_back(Rule(true, "c", 1, 3, "w"));
  ASSERT_TRUE(m->Set(r).ok());
  EXPECT_EQ(OpenInCgroup("/dev/null", O_WRONLY), 0);
  uint32_t ids[8];
  union bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  int cg = open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ASSERT_GE(cg, 0);
  attr.query.target_fd = cg;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids);
  attr.query.prog_cnt = 8;
  ASSERT_EQ(syscall(SYS_bpf, BPF_PROG_QUERY, &attr, sizeof(attr)), 0) << strerror(errno);
  close(cg);
  EXPECT_EQ(attr.query.prog_cnt, 1u);
}

}  // namespace
}  // namespace berth::executor
