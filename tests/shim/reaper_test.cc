#include "shim-v2/shim/reaper.h"

#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/strip.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace berth::shim {
namespace {

class ReaperTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(Reaper::Get().Start().ok()); }
};

// Voluntary context switches of every thread of this process but the calling one.
long OtherThreadsSwitches() {
  long total = 0;
  const std::string self = absl::StrCat(gettid());
  DIR* d = opendir("/proc/self/task");
  while (dirent* e = d != nullptr ? readdir(d) : nullptr) {
    if (e->d_name[0] == '.' || self == e->d_name) continue;
    std::ifstream status(absl::StrCat("/proc/self/task/", e->d_name, "/status"));
    for (std::string line; std::getline(status, line);) {
      long n = 0;
      if (line.rfind("voluntary_ctxt_switches:", 0) == 0 &&
          absl::SimpleAtoi(absl::StripAsciiWhitespace(line.substr(24)), &n)) {
        total += n;
      }
    }
  }
  if (d != nullptr) closedir(d);
  return total;
}

bool IsZombieOrGone(pid_t pid) {
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  if (!std::getline(stat, line)) return true;
  size_t p = line.rfind(')');
  return p != std::string::npos && p + 2 < line.size() && line[p + 2] == 'Z';
}

bool Exists(pid_t pid) { return access(absl::StrCat("/proc/", pid).c_str(), F_OK) == 0; }

// An idle shim must not wake up: each wake-up ran the sweep and kept its code resident.
TEST_F(ReaperTest, AnIdleReaperSleeps) {
  absl::SleepFor(absl::Milliseconds(100));
  const long before = OtherThreadsSwitches();
  absl::SleepFor(absl::Milliseconds(2500));
  EXPECT_EQ(OtherThreadsSwitches(), before);
}

TEST_F(ReaperTest, ReportsARegisteredChildsExitCode) {
  pid_t pid = fork();
  if (pid == 0) _exit(3);
  EXPECT_EQ(Reaper::Get().Wait(pid), 3);
}

// A grandchild whose parent exits is re-parented to us (subreaper); nobody registers it, and
// no other child exits after it: the sweep must still reap it, without a later SIGCHLD.
TEST_F(ReaperTest, ReapsAnUnclaimedOrphanWithoutFurtherActivity) {
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t mid = fork();
  if (mid == 0) {
    pid_t orphan = fork();
    if (orphan == 0) {
      usleep(200 * 1000);
      _exit(0);
    }
    (void)!write(fds[1], &orphan, sizeof(orphan));
    _exit(0);
  }
  pid_t orphan = 0;
  ASSERT_EQ(read(fds[0], &orphan, sizeof(orphan)), static_cast<ssize_t>(sizeof(orphan)));
  close(fds[0]);
  close(fds[1]);
  int ws = 0;
  ASSERT_EQ(waitpid(mid, &ws, 0), mid);
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (Exists(orphan) && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_FALSE(Exists(orphan)) << "orphan " << orphan << " still there, zombie "
                               << IsZombieOrGone(orphan);
}

}  // namespace
}  // namespace berth::shim
