#include "shim-v2/shim/text_pages.h"

#include <unistd.h>

#include <cstdio>

#include "gtest/gtest.h"

namespace berth::shim {
namespace {

// Resident file-backed pages of this process (statm "shared").
long ResidentFilePages() {
  long size = 0, resident = 0, shared = -1;
  FILE* f = fopen("/proc/self/statm", "r");
  if (f == nullptr) return -1;
  if (fscanf(f, "%ld %ld %ld", &size, &resident, &shared) != 3) shared = -1;
  fclose(f);
  return shared;
}

int g_written = 1;  // .data: a private copy once written; must survive the release

TEST(TextPagesTest, ReleasesTextButKeepsWrittenData) {
  g_written = 42;
  const long before = ResidentFilePages();
  ASSERT_GT(before, 0);
  ReleaseStartupPages();
  const long after = ResidentFilePages();
  // The executable's own text and rodata (gtest, this test) were resident; now only what ran
  // since is. A release that did nothing leaves the count where it was.
  EXPECT_LT(after, before);
  // Writable segments are never released: a dropped private copy would read back as 1.
  EXPECT_EQ(g_written, 42);
}

TEST(TextPagesTest, CodeRunsAfterRelease) {
  g_written = 42;
  ReleaseStartupPages();
  ReleaseStartupPages();  // idempotent; the text faults straight back in
  EXPECT_EQ(getpid(), getpid());
  EXPECT_EQ(g_written, 42);
}

}  // namespace
}  // namespace berth::shim
