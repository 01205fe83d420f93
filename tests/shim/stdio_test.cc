// ProcessIo's fifo outputs: the process writes into the client's fifo directly.
#include "shim-v2/shim/stdio.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>
#include <thread>

#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/support/temp_dir.h"

namespace berth::shim {
namespace {

class StdioTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(::mkfifo(out_.c_str(), 0600), 0); }

  // Everything the fifo delivers to a reader until EOF.
  static std::string ReadAll(int fd) {
    std::string got;
    char buf[256];
    for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) > 0;) got.append(buf, n);
    return got;
  }

  test_support::TempDir tmp_{"stdio-test"};
  const std::string out_ = tmp_.path() + "/out";
};

// ctr opens its end from a goroutine that a loaded machine may run late: the output of a
// process that wrote and exited before then must still reach it.
TEST_F(StdioTest, OutputWaitsForAReaderThatComesLate) {
  int reader = -1;
  std::thread late([&] {
    absl::SleepFor(absl::Milliseconds(100));
    // Non-blocking, so a fifo nobody writes to any more reads as empty instead of hanging.
    reader = ::open(out_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  });
  auto io = ProcessIo::Open(StdioPaths{"", out_, "", false}, "c1", "ns1");
  ASSERT_TRUE(io.ok()) << io.status();
  const int child_out = (*io)->ChildFds().out;
  ASSERT_GE(child_out, 0);
  // The "process" writes and exits (its copy is the one the runtime gave it).
  int process_out = ::dup(child_out);
  ASSERT_EQ(::write(process_out, "/work\n", 6), 6);
  ASSERT_TRUE((*io)->AfterStart().ok());  // the shim drops its copy after start
  ::close(process_out);
  late.join();
  ASSERT_GE(reader, 0);
  ::fcntl(reader, F_SETFL, 0);
  EXPECT_EQ(ReadAll(reader), "/work\n");
  ::close(reader);
}

// A reader that is already there is used at once; the process's exit is its EOF.
TEST_F(StdioTest, ReaderAlreadyOpenGetsOutputAndEof) {
  int reader = ::open(out_.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  const absl::Time before = absl::Now();
  auto io = ProcessIo::Open(StdioPaths{"", out_, "", false}, "c1", "ns1");
  ASSERT_TRUE(io.ok()) << io.status();
  EXPECT_LT(absl::Now() - before, absl::Milliseconds(500));  // no waiting for a reader
  int process_out = ::dup((*io)->ChildFds().out);
  ASSERT_EQ(::write(process_out, "hi\n", 3), 3);
  ASSERT_TRUE((*io)->AfterStart().ok());
  ::close(process_out);
  ::fcntl(reader, F_SETFL, 0);
  EXPECT_EQ(ReadAll(reader), "hi\n");
  ::close(reader);
}

}  // namespace
}  // namespace berth::shim
