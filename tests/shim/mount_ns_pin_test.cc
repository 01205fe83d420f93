#include "shim-v2/shim/mount_ns_pin.h"

#include <poll.h>
#include <sched.h>
#include <sys/inotify.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace berth::shim {
namespace {

// A child in a mount namespace of its own with a tmpfs on `dir`, watched from here through
// /proc/<child>/root: the tmpfs's IN_UNMOUNT tells when the kernel tore the namespace down.
class PinnedNamespace : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (mount namespaces)";
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    ASSERT_EQ(pipe(go_), 0);
    child_ = fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      char c;
      bool ok = unshare(CLONE_NEWNS) == 0 &&
                mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) == 0 &&
                mount("tmpfs", dir_.path().c_str(), "tmpfs", 0, nullptr) == 0;
      (void)!write(ready[1], ok ? "1" : "0", 1);
      (void)!read(go_[0], &c, 1);
      _exit(0);
    }
    close(ready[1]);
    char c = 0;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    ASSERT_EQ(c, '1') << "the child could not mount its tmpfs";
    inotify_ = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
    ASSERT_GE(inotify_, 0);
    std::string watched = "/proc/" + std::to_string(child_) + "/root" + dir_.path();
    ASSERT_GE(inotify_add_watch(inotify_, watched.c_str(), IN_CREATE), 0);
  }
  void TearDown() override {
    if (child_ > 0 && waitpid(child_, nullptr, WNOHANG) == 0) {
      (void)!write(go_[1], "x", 1);
      waitpid(child_, nullptr, 0);
    }
    if (inotify_ >= 0) close(inotify_);
  }

  void EndChild() {
    ASSERT_EQ(write(go_[1], "x", 1), 1);
    ASSERT_EQ(waitpid(child_, nullptr, 0), child_);
    child_ = -1;
  }
  // Whether the tmpfs has been unmounted, without waiting.
  bool Unmounted() {
    struct pollfd p = {inotify_, POLLIN, 0};
    if (poll(&p, 1, 0) <= 0) return false;
    alignas(struct inotify_event) char buf[4096];
    ssize_t n = read(inotify_, buf, sizeof(buf));
    for (char* at = buf; n > 0 && at < buf + n;) {
      auto* ev = reinterpret_cast<struct inotify_event*>(at);
      if (ev->mask & IN_UNMOUNT) return true;
      at += sizeof(*ev) + ev->len;
    }
    return false;
  }

  test_support::TempDir dir_;
  pid_t child_ = -1;
  int go_[2] = {-1, -1};
  int inotify_ = -1;
};

TEST_F(PinnedNamespace, WithoutAPinTheExitTearsTheNamespaceDown) {
  EndChild();
  EXPECT_TRUE(Unmounted());
}

TEST_F(PinnedNamespace, APinnedNamespaceOutlivesItsLastProcessUntilReleased) {
  MountNamespacePin pin(child_);
  EndChild();
  EXPECT_FALSE(Unmounted());
  pin.Release();
  EXPECT_TRUE(Unmounted());  // in Release itself, not some time later
  pin.Release();             // a second release is a no-op
}

TEST(MountNamespacePin, OfAProcessAlreadyGoneIsEmpty) {
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) _exit(0);
  ASSERT_EQ(waitpid(pid, nullptr, 0), pid);
  MountNamespacePin pin(pid);
  pin.Release();
}

}  // namespace
}  // namespace berth::shim
