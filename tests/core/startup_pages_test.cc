// startup_pages::Drop: releases clean read-only file pages, never a page this process wrote.
#include "core/startup_pages.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "core/fs.h"
#include "gtest/gtest.h"

namespace berth::startup_pages {
namespace {

constexpr size_t kPages = 16;

// Rss (KiB) of the mapping starting at `addr`, from /proc/self/smaps; -1 if not found.
int64_t MappingRssKib(const void* addr) {
  auto smaps = fs::ReadFile("/proc/self/smaps");
  if (!smaps.ok()) return -1;
  std::string start = absl::StrFormat("%x-", reinterpret_cast<uintptr_t>(addr));
  bool in = false;
  for (absl::string_view line : absl::StrSplit(*smaps, '\n')) {
    if (absl::StartsWith(line, start)) {
      in = true;
    } else if (in && absl::StartsWith(line, "Rss:")) {
      int64_t kib = -1;
      std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
      if (f.size() >= 2) (void)absl::SimpleAtoi(f[1], &kib);
      return kib;
    }
  }
  return -1;
}

class StartupPagesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-startup-pages-XXXXXX";
    fd_ = ::mkstemp(tmpl);
    ASSERT_GE(fd_, 0);
    path_ = tmpl;
    size_ = kPages * static_cast<size_t>(::sysconf(_SC_PAGESIZE));
    std::string bytes(size_, 'A');
    ASSERT_EQ(::write(fd_, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  }
  void TearDown() override {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  char* Map(int prot) {
    void* p = ::mmap(nullptr, size_, prot, MAP_PRIVATE, fd_, 0);
    return p == MAP_FAILED ? nullptr : static_cast<char*>(p);
  }
  static void TouchAll(const char* p, size_t n) {
    volatile char sink = 0;
    for (size_t i = 0; i < n; i += 4096) sink = sink + p[i];
  }

  int fd_ = -1;
  std::string path_;
  size_t size_ = 0;
};

TEST_F(StartupPagesTest, ReleasesCleanReadOnlyFilePages) {
  char* p = Map(PROT_READ);
  ASSERT_NE(p, nullptr);
  TouchAll(p, size_);
  ASSERT_GT(MappingRssKib(p), 0);
  EXPECT_GT(Drop(), 0u);
  EXPECT_EQ(MappingRssKib(p), 0);
  EXPECT_EQ(p[0], 'A');  // still readable: a minor fault brings it back
  EXPECT_EQ(p[size_ - 1], 'A');
  ::munmap(p, size_);
}

// A private mapping written and then made read-only (as the dynamic linker does with RELRO)
// holds copy-on-write pages: dropping them would bring the file's bytes back.
TEST_F(StartupPagesTest, KeepsPagesThisProcessWrote) {
  char* p = Map(PROT_READ | PROT_WRITE);
  ASSERT_NE(p, nullptr);
  TouchAll(p, size_);
  p[0] = 'B';
  ASSERT_EQ(::mprotect(p, size_, PROT_READ), 0);
  Drop();
  EXPECT_EQ(p[0], 'B');
  EXPECT_GT(MappingRssKib(p), 0);
  ::munmap(p, size_);
}

TEST_F(StartupPagesTest, LeavesWritableMappingsAlone) {
  char* p = Map(PROT_READ | PROT_WRITE);
  ASSERT_NE(p, nullptr);
  TouchAll(p, size_);
  Drop();
  EXPECT_GT(MappingRssKib(p), 0);
  ::munmap(p, size_);
}

}  // namespace
}  // namespace berth::startup_pages
