#pragma once
// Text tracing: which pages of a binary's code a serving process really runs, for the link
// order that keeps those functions together (cmd/*/hot_functions.sh, lld's
// --symbol-ordering-file). With BERTH_TEXT_TRACE set in its environment, a process that would
// release its start-up text pages (berthd: startup_pages::Drop, the shim: ReleaseStartupPages)
// instead gives every page of its executable's code a VMA of its own, with nothing mapped:
// smaps' per-VMA "Rss" then names the pages this process touched since. (Not "Referenced":
// that also reads the page cache page's own accessed flag, which a forked child sets when it
// runs the same code - the shim's helpers would count as the shim.) One-page VMAs also keep
// the kernel's fault-around from mapping neighbours. Allocation-free (the shim calls it where
// it must not fault in code of its own).

#include <cstdint>

namespace berth::text_trace {

// Whether BERTH_TEXT_TRACE is set.
bool Enabled();

// Splits [lo, hi) (page-aligned, a private read-only file mapping) into one VMA per page
// (MADV_DONTDUMP on every other page: a flag no one reads here) and unmaps every page of it
// from this process (MADV_DONTNEED; the page cache keeps them).
void SplitPages(uintptr_t lo, uintptr_t hi);

// Copies /proc/self/smaps to `path` (created or truncated): which one-page VMAs were resident
// just before a release empties them again, for a trace of the phase that ended there.
void SaveSmaps(const char* path);

}  // namespace berth::text_trace
