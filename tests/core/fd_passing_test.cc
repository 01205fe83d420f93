// One fd and a payload over a socket pair; the payload alone; a closed peer.
#include "core/fd_passing.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gtest/gtest.h"

namespace berth::fdpass {
namespace {

class FdPassingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv_), 0);
  }
  void TearDown() override {
    for (int fd : sv_) {
      if (fd >= 0) close(fd);
    }
  }
  int sv_[2] = {-1, -1};
};

TEST_F(FdPassingTest, TheFdArrivesWithThePayloadAndIsCloseOnExec) {
  int sent = open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(sent, 0);
  ASSERT_EQ(SendWithFd(sv_[0], "pty0", 4, sent), 4);
  char buf[8] = {};
  int got = -1;
  ASSERT_EQ(RecvWithFd(sv_[1], buf, sizeof(buf), &got), 4);
  EXPECT_STREQ(buf, "pty0");
  ASSERT_GE(got, 0);
  struct stat a;
  struct stat b;
  ASSERT_EQ(fstat(sent, &a), 0);
  ASSERT_EQ(fstat(got, &b), 0);
  EXPECT_EQ(a.st_ino, b.st_ino);
  EXPECT_NE(got, sent);
  EXPECT_TRUE(fcntl(got, F_GETFD) & FD_CLOEXEC);
  close(sent);
  close(got);
}

TEST_F(FdPassingTest, ThePayloadAloneLeavesNoFd) {
  unsigned char err = 17;
  ASSERT_EQ(SendWithFd(sv_[0], &err, 1, -1), 1);
  unsigned char got_err = 0;
  int got = 42;
  ASSERT_EQ(RecvWithFd(sv_[1], &got_err, 1, &got), 1);
  EXPECT_EQ(got_err, 17);
  EXPECT_EQ(got, -1);
}

TEST_F(FdPassingTest, AClosedPeerIsEndOfStreamOrAnError) {
  close(sv_[1]);
  sv_[1] = -1;
  unsigned char b = 0;
  EXPECT_EQ(SendWithFd(sv_[0], &b, 1, -1), -EPIPE);
  close(sv_[0]);
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv_), 0);
  close(sv_[0]);
  sv_[0] = -1;
  int got = 42;
  EXPECT_EQ(RecvWithFd(sv_[1], &b, 1, &got), 0);
  EXPECT_EQ(got, -1);
}

}  // namespace
}  // namespace berth::fdpass
