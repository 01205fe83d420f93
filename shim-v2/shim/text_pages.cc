#include "shim-v2/shim/text_pages.h"

#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>

#include "core/text_trace.h"

namespace berth::shim {
namespace {

int ReleaseSegments(dl_phdr_info* info, size_t, void* first) {
  // The first object is the executable itself (the shim is linked static: the only one).
  if (!*static_cast<bool*>(first)) return 1;
  *static_cast<bool*>(first) = false;
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) != 0) continue;
    uintptr_t lo = (info->dlpi_addr + ph.p_vaddr) & ~(page - 1);
    uintptr_t hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) & ~(page - 1);
    if (text_trace::Enabled()) {
      text_trace::SplitPages(lo, hi);
    } else {
      madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    }
  }
  return 1;
}

}  // namespace

void ReleaseStartupPages() {
  // What the phase that ends here used, before the release forgets it (hot_functions.sh); the
  // first call ends start-up, whose pages tracing did not yet tell apart.
  static int calls = 0;  // the main thread's only
  const int phase = calls++;
  if (phase > 0 && text_trace::Enabled()) {
    char path[32];
    snprintf(path, sizeof path, "text-trace.%d.smaps", phase);
    text_trace::SaveSmaps(path);
  }
  bool first = true;
  dl_iterate_phdr(ReleaseSegments, &first);
}

}  // namespace berth::shim
