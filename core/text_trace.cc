#include "core/text_trace.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

namespace berth::text_trace {

bool Enabled() { return ::getenv("BERTH_TEXT_TRACE") != nullptr; }

void SplitPages(uintptr_t lo, uintptr_t hi) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  for (uintptr_t p = lo; p < hi; p += 2 * page) {
    ::madvise(reinterpret_cast<void*>(p), page, MADV_DONTDUMP);
  }
  ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
}

void SaveSmaps(const char* path) {
  const int in = ::open("/proc/self/smaps", O_RDONLY | O_CLOEXEC);
  const int out = ::open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  static char buf[1 << 16];
  ssize_t n;
  while (in >= 0 && out >= 0 && (n = ::read(in, buf, sizeof buf)) > 0) {
    if (::write(out, buf, static_cast<size_t>(n)) != n) break;
  }
  if (in >= 0) ::close(in);
  if (out >= 0) ::close(out);
}

}  // namespace berth::text_trace
