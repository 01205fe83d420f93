#include "shim-v2/shim/text_pages.h"

#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>

namespace berth::shim {
namespace {

// BERTH_SHIM_TEXT_TRACE (cmd/containerd-shim-berth-v2/hot_functions.sh): instead of releasing,
// map every page, give each page a VMA of its own (MADV_DONTDUMP on every other page) and clear
// the accessed bits, so that smaps' per-VMA "Referenced" later tells which pages serving used.
bool TextTrace() { return getenv("BERTH_SHIM_TEXT_TRACE") != nullptr; }

void TraceSegment(uintptr_t lo, uintptr_t hi, uintptr_t page) {
  madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_POPULATE_READ);
  for (uintptr_t p = lo; p < hi; p += 2 * page) {
    madvise(reinterpret_cast<void*>(p), page, MADV_DONTDUMP);
  }
}

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
    if (TextTrace()) {
      TraceSegment(lo, hi, page);
    } else {
      madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED);
    }
  }
  return 1;
}

}  // namespace

void ReleaseStartupPages() {
  bool first = true;
  dl_iterate_phdr(ReleaseSegments, &first);
  if (TextTrace()) {
    int fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = write(fd, "1", 1);
      (void)n;
      close(fd);
    }
  }
}

}  // namespace berth::shim
