#include "core/startup_pages.h"

#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/fs.h"
#include "core/text_trace.h"

namespace berth::startup_pages {
namespace {

struct Mapping {
  uint64_t lo = 0, hi = 0;
  uint64_t rss_kib = 0;
  bool candidate = false;  // private, read-only, from a file
  bool traced = false;     // the executable's code, under BERTH_TEXT_TRACE
};

// "lo-hi perms offset dev inode [path]" -> whether it is a candidate, and its range. `exe` is
// the executable's path when its code is traced instead of released (text_trace.h).
bool ParseHeader(const std::vector<absl::string_view>& f, const std::string& exe, Mapping* m) {
  if (f.size() < 5 || f[0].find('-') == absl::string_view::npos || f[1].size() != 4) return false;
  std::vector<absl::string_view> range = absl::StrSplit(f[0], '-');
  m->rss_kib = 0;
  m->candidate = f.size() >= 6 && !f[5].empty() && f[5][0] == '/' && f[1][1] == '-' &&
                 f[1][3] == 'p' && range.size() == 2 && absl::SimpleHexAtoi(range[0], &m->lo) &&
                 absl::SimpleHexAtoi(range[1], &m->hi);
  m->traced = m->candidate && !exe.empty() && f[5] == exe && f[1][2] == 'x';
  return true;
}

}  // namespace

uint64_t Drop() {
  auto smaps = fs::ReadFile("/proc/self/smaps");
  if (!smaps.ok()) return 0;
  std::string exe;
  if (text_trace::Enabled()) {
    char path[4096];
    ssize_t n = ::readlink("/proc/self/exe", path, sizeof(path));
    if (n > 0) exe.assign(path, static_cast<size_t>(n));
  }
  uint64_t released_kib = 0;
  Mapping m;
  for (absl::string_view line : absl::StrSplit(*smaps, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.empty() || ParseHeader(f, exe, &m) || !m.candidate || f.size() < 2) continue;
    if (f[0] == "Rss:") {
      (void)absl::SimpleAtoi(f[1], &m.rss_kib);
    } else if (f[0] == "Anonymous:") {
      // Pages this process wrote are copy-on-write copies, counted as Anonymous; dropping them
      // would revert them to the file's bytes. (Private_Dirty also counts page-cache pages not
      // yet written back, so it is not the test.)
      if (m.traced) {
        text_trace::SplitPages(m.lo, m.hi);
      } else if (f[1] == "0" && m.rss_kib > 0 &&
                 ::madvise(reinterpret_cast<void*>(m.lo), m.hi - m.lo, MADV_DONTNEED) == 0) {
        (void)::madvise(reinterpret_cast<void*>(m.lo), m.hi - m.lo, MADV_RANDOM);
        released_kib += m.rss_kib;
      }
      m.candidate = false;
    }
  }
  return released_kib * 1024;
}

}  // namespace berth::startup_pages
