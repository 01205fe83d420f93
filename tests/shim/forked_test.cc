#include "shim-v2/shim/forked.h"

#include <signal.h>
#include <unistd.h>

#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "shim-v2/shim/reaper.h"

namespace berth::shim {
namespace {

class RunForkedTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { ASSERT_TRUE(Reaper::Get().Start().ok()); }
};

TEST_F(RunForkedTest, RunsTheWorkInAnotherProcessAndReturnsItsBytes) {
  absl::StatusOr<std::string> out =
      RunForked([]() -> absl::StatusOr<std::string> { return absl::StrCat(getpid()); });
  ASSERT_TRUE(out.ok()) << out.status();
  pid_t child = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*out, &child));
  EXPECT_NE(child, getpid());
  EXPECT_GT(child, 0);
}

TEST_F(RunForkedTest, LeavesTheCallersMemoryAlone) {
  int touched = 0;
  ASSERT_TRUE(RunForked([&]() -> absl::StatusOr<std::string> {
                touched = 1;
                return std::string();
              }).ok());
  EXPECT_EQ(touched, 0);
}

TEST_F(RunForkedTest, CarriesAnErrorsCodeAndMessage) {
  absl::StatusOr<std::string> out = RunForked([]() -> absl::StatusOr<std::string> {
    return absl::AlreadyExistsError("container c1 already exists");
  });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(out.status().message(), "container c1 already exists");
}

TEST_F(RunForkedTest, CarriesBinaryPayloads) {
  std::string bytes("a\0b\nc", 5);
  absl::StatusOr<std::string> out =
      RunForked([&]() -> absl::StatusOr<std::string> { return bytes; });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(*out, bytes);
}

TEST_F(RunForkedTest, AChildThatDiesWithoutAnswerIsAnInternalError) {
  absl::StatusOr<std::string> out = RunForked([]() -> absl::StatusOr<std::string> {
    raise(SIGKILL);
    return std::string("never");
  });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
  EXPECT_NE(out.status().message().find("status 137"), std::string::npos) << out.status();
}

TEST_F(RunForkedTest, AnOversizedAnswerIsRefusedNotDeadlocked) {
  absl::StatusOr<std::string> out = RunForked(
      []() -> absl::StatusOr<std::string> { return std::string(1 << 20, 'x'); });
  EXPECT_EQ(out.status().code(), absl::StatusCode::kInternal);
}

// What the executor does: the work starts a process that outlives it, and keeps the pipe's
// write end open in it (close-on-exec, but it has not exec'd). The answer still arrives when
// the work's own process exits, and the survivor becomes our child (subreaper) with its status.
TEST_F(RunForkedTest, AProcessTheWorkStartsIsReapedByTheCaller) {
  absl::StatusOr<std::string> out = RunForked([]() -> absl::StatusOr<std::string> {
    pid_t pid = fork();
    if (pid == 0) {
      usleep(300 * 1000);
      _exit(7);
    }
    return absl::StrCat(pid);
  });
  ASSERT_TRUE(out.ok()) << out.status();
  pid_t survivor = 0;
  ASSERT_TRUE(absl::SimpleAtoi(*out, &survivor));
  EXPECT_EQ(Reaper::Get().Wait(survivor), 7);
}

}  // namespace
}  // namespace berth::shim
