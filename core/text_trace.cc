#include "core/text_trace.h"

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

}  // namespace berth::text_trace
