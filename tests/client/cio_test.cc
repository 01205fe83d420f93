#include "client/cio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <thread>

#include "gtest/gtest.h"

namespace berth::client {
namespace {

class CioTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-cio-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
  }
  void TearDown() override { rmdir(base_.c_str()); }
  std::string base_;
};

std::string Drain(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = read(fd, buf, sizeof(buf))) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

TEST_F(CioTest, FifoSetLayout) {
  auto set = NewFifoSet(base_, "c1", /*with_stdin=*/true, /*terminal=*/false);
  ASSERT_TRUE(set.ok()) << set.status();
  struct stat st;
  for (const auto& p : {set->in, set->out, set->err}) {
    ASSERT_EQ(stat(p.c_str(), &st), 0) << p;
    EXPECT_TRUE(S_ISFIFO(st.st_mode)) << p;
  }
  EXPECT_NE(set->out.find("/c1-stdout"), std::string::npos);
  ASSERT_TRUE(RemoveFifoSet(*set).ok());
  EXPECT_NE(stat(set->dir.c_str(), &st), 0);

  auto tty = NewFifoSet(base_, "c2", /*with_stdin=*/false, /*terminal=*/true);
  ASSERT_TRUE(tty.ok());
  EXPECT_TRUE(tty->in.empty());
  EXPECT_TRUE(tty->err.empty());  // one stream in terminal mode
  EXPECT_TRUE(tty->terminal);
  ASSERT_TRUE(RemoveFifoSet(*tty).ok());
}

// Plays the shim: opens the write ends like shim-v2/shim/stdio.cc, writes, closes.
TEST_F(CioTest, CopiesOutputUntilWritersClose) {
  auto set = NewFifoSet(base_, "c3", /*with_stdin=*/false, /*terminal=*/false);
  ASSERT_TRUE(set.ok());
  int out[2], err[2];
  ASSERT_EQ(pipe(out), 0);
  ASSERT_EQ(pipe(err), 0);
  auto a = Attachment::Open(*set, {-1, out[1], err[1]});
  ASSERT_TRUE(a.ok()) << a.status();
  // The readers exist already: a non-blocking writer open succeeds (no ENXIO).
  int wo = open(set->out.c_str(), O_WRONLY | O_NONBLOCK);
  int we = open(set->err.c_str(), O_WRONLY | O_NONBLOCK);
  ASSERT_GE(wo, 0);
  ASSERT_GE(we, 0);
  ASSERT_EQ(write(wo, "out", 3), 3);
  ASSERT_EQ(write(we, "err", 3), 3);
  close(wo);
  close(we);
  EXPECT_TRUE((*a)->WaitOutput(absl::Seconds(10)));
  a->reset();
  close(out[1]);
  close(err[1]);
  EXPECT_EQ(Drain(out[0]), "out");
  EXPECT_EQ(Drain(err[0]), "err");
  close(out[0]);
  close(err[0]);
  ASSERT_TRUE(RemoveFifoSet(*set).ok());
}

TEST_F(CioTest, NoWriterYetIsNotEof) {
  auto set = NewFifoSet(base_, "c4", false, true);
  ASSERT_TRUE(set.ok());
  auto a = Attachment::Open(*set, {-1, -1, -1});
  ASSERT_TRUE(a.ok());
  EXPECT_FALSE((*a)->WaitOutput(absl::Milliseconds(100)));
  a->reset();  // Cancel unblocks the copy
  ASSERT_TRUE(RemoveFifoSet(*set).ok());
}

TEST_F(CioTest, StdinReachesTheShimAndEofIsReported) {
  auto set = NewFifoSet(base_, "c5", /*with_stdin=*/true, /*terminal=*/true);
  ASSERT_TRUE(set.ok());
  int in[2];
  ASSERT_EQ(pipe(in), 0);
  std::atomic<bool> eof{false};
  auto a = Attachment::Open(*set, {in[0], -1, -1}, [&] { eof = true; });
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(write(in[1], "typed", 5), 5);
  close(in[1]);
  // The shim's side: a blocking reader, as the shim opens stdin after start.
  int r = open(set->in.c_str(), O_RDONLY);
  ASSERT_GE(r, 0);
  EXPECT_EQ(Drain(r), "typed");
  close(r);
  for (int i = 0; i < 500 && !eof; ++i) usleep(10000);
  EXPECT_TRUE(eof);
  // Output never opened by a writer: cancel.
  a->reset();
  close(in[0]);
  ASSERT_TRUE(RemoveFifoSet(*set).ok());
}

TEST_F(CioTest, CancelUnblocksAStdinWriterWithoutShim) {
  auto set = NewFifoSet(base_, "c6", true, true);
  ASSERT_TRUE(set.ok());
  bool called = false;
  {
    auto a = Attachment::Open(*set, {-1, -1, -1}, [&] { called = true; });
    ASSERT_TRUE(a.ok());
    usleep(20000);
  }  // destructor must return although nobody opened the stdin fifo
  ASSERT_TRUE(RemoveFifoSet(*set).ok());
  SUCCEED();
}

}  // namespace
}  // namespace berth::client
