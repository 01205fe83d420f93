#include "core/text_trace.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdlib>

namespace berth::text_trace {

bool Enabled() { return ::getenv("BERTH_TEXT_TRACE") != nullptr; }

void SplitPages(uintptr_t lo, uintptr_t hi) {
  const uintptr_t page = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  ::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_READ);
  for (uintptr_t p = lo; p < hi; p += 2 * page) {
    ::madvise(reinterpret_cast<void*>(p), page, MADV_DONTDUMP);
  }
}

void ClearReferenced() {
  int fd = ::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = ::write(fd, "1", 1);
  (void)n;
  ::close(fd);
}

}  // namespace berth::text_trace
