#include "shim-v2/shim/text_pages.h"

#include <unistd.h>

#include <string>

#include "gtest/gtest.h"
#include "tests/core/self_mappings.h"

namespace berth::shim {
namespace {

// Resident KiB of the executable's read-only mappings (text, rodata).
long ResidentExecutableReadOnlyKib() {
  return testing::ResidentSelfKib(
      [](const std::string& perms) { return perms.find('w') == std::string::npos; });
}

int g_written = 1;  // .data: a private copy once written; must survive the release

TEST(TextPagesTest, ReleasesTextButKeepsWrittenData) {
  g_written = 42;
  const long before = ResidentExecutableReadOnlyKib();
  ASSERT_GT(before, 0);
  ReleaseStartupPages();
  const long after = ResidentExecutableReadOnlyKib();
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
