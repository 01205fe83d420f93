// The network namespace made ahead by a helper process: a new one, handed over as an fd, and
// no helper left behind whether or not it is taken.
#include "executor/background_netns.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace berth::executor {
namespace {

ino_t NetnsInode(const char* path) {
  struct stat st {};
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

TEST(BackgroundNetnsTest, HandsOverANewNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "creating a network namespace needs root";
  BackgroundNetns netns;
  absl::StatusOr<int> fd = netns.Take();
  ASSERT_TRUE(fd.ok()) << fd.status();
  struct stat st {};
  ASSERT_EQ(fstat(*fd, &st), 0);
  EXPECT_NE(st.st_ino, NetnsInode("/proc/self/ns/net"));
  close(*fd);
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1) << "the helper was not reaped";
}

TEST(BackgroundNetnsTest, UntakenIsReaped) {
  { BackgroundNetns netns; }
  EXPECT_EQ(waitpid(-1, nullptr, WNOHANG), -1);
}

TEST(BackgroundNetnsTest, WithoutPrivilegeTakeSaysWhy) {
  if (geteuid() == 0) GTEST_SKIP() << "root may create network namespaces";
  BackgroundNetns netns;
  EXPECT_FALSE(netns.Take().ok());
}

}  // namespace
}  // namespace berth::executor
