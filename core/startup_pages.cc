#include "core/startup_pages.h"

#include <sys/mman.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "core/fs.h"

namespace berth::startup_pages {
namespace {

struct Mapping {
  uint64_t lo = 0, hi = 0;
  uint64_t rss_kib = 0;
  bool candidate = false;  // private, read-only, from a file
};

// "lo-hi perms offset dev inode [path]" -> whether it is a candidate, and its range.
bool ParseHeader(const std::vector<absl::string_view>& f, Mapping* m) {
  if (f.size() < 5 || f[0].find('-') == absl::string_view::npos || f[1].size() != 4) return false;
  std::vector<absl::string_view> range = absl::StrSplit(f[0], '-');
  m->rss_kib = 0;
  m->candidate = f.size() >= 6 && !f[5].empty() && f[5][0] == '/' && f[1][1] == '-' &&
                 f[1][3] == 'p' && range.size() == 2 && absl::SimpleHexAtoi(range[0], &m->lo) &&
                 absl::SimpleHexAtoi(range[1], &m->hi);
  return true;
}

}  // namespace

uint64_t Drop() {
  auto smaps = fs::ReadFile("/proc/self/smaps");
  if (!smaps.ok()) return 0;
  uint64_t released_kib = 0;
  Mapping m;
  for (absl::string_view line : absl::StrSplit(*smaps, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    if (f.empty() || ParseHeader(f, &m) || !m.candidate || f.size() < 2) continue;
    if (f[0] == "Rss:") {
      (void)absl::SimpleAtoi(f[1], &m.rss_kib);
    } else if (f[0] == "Anonymous:") {
      // Pages this process wrote are copy-on-write copies, counted as Anonymous; dropping them
      // would revert them to the file's bytes. (Private_Dirty also counts page-cache pages not
      // yet written back, so it is not the test.)
      if (f[1] == "0" && m.rss_kib > 0 &&
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
