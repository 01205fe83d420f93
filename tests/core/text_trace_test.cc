#include "core/text_trace.h"

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "gtest/gtest.h"
#include "tests/core/self_mappings.h"

namespace berth::text_trace {
namespace {

bool IsCode(const std::string& perms) { return perms.find('x') != std::string::npos; }

long ResidentCodeKib() { return testing::ResidentSelfKib(IsCode); }

// Code this process never runs itself: only the forked child below calls it.
__attribute__((noinline)) std::string ChildOnlyWork() {
  std::vector<std::string> v;
  for (int i = 0; i < 1000; ++i) v.push_back(absl::StrFormat("%08x-%s-%e", i * 7919, "x", i * 0.5));
  std::sort(v.begin(), v.end());
  return v.front();
}

// Forks a child that runs ChildOnlyWork (or nothing) and returns its wait status.
int RunChild(bool work) {
  pid_t pid = fork();
  if (pid == 0) _exit(work && ChildOnlyWork().empty() ? 1 : 0);
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  return status;
}

TEST(TextTraceTest, CountsOnlyPagesThisProcessTouchesNotThoseOfItsForkedChildren) {
  std::vector<testing::AddressRange> ranges;
  const long before = testing::ResidentSelfKib(IsCode, &ranges);
  ASSERT_FALSE(ranges.empty());
  ASSERT_GT(before, 0);
  for (const testing::AddressRange& r : ranges) SplitPages(r.lo, r.hi);
  // What the scan and the fork run in this process faults back in; twice, so it is stable.
  for (int i = 0; i < 2; ++i) {
    (void)RunChild(false);
    (void)ResidentCodeKib();
  }
  const long settled = ResidentCodeKib();
  const int status = RunChild(true);
  const long after = ResidentCodeKib();
  EXPECT_LT(settled, before);
  ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  // The child ran code the parent never did: pages of the shared page cache that it touched
  // (and marked accessed), but that are not mapped in the parent.
  EXPECT_EQ(after, settled);
}

TEST(TextTraceTest, SavesSmapsForThePhaseThatEnds) {
  const std::string path = ::testing::TempDir() + "/text-trace.smaps";
  SaveSmaps(path.c_str());
  FILE* f = fopen(path.c_str(), "r");
  ASSERT_NE(f, nullptr);
  std::string text;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, f)) > 0;) text.append(buf, n);
  fclose(f);
  unlink(path.c_str());
  // All of it, past the first read: every mapping with its Rss, the stack among them.
  EXPECT_GT(text.size(), 65536u);
  EXPECT_NE(text.find("[stack]"), std::string::npos);
  EXPECT_NE(text.find("\nRss:"), std::string::npos);
}

}  // namespace
}  // namespace berth::text_trace
