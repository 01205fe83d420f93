#pragma once
// Text tracing: which pages of a binary's code a serving process really runs, for the link
// order that keeps those functions together (cmd/*/hot_functions.sh, lld's
// --symbol-ordering-file). With BERTH_TEXT_TRACE set in its environment, a process that would
// release its start-up text pages (berthd: startup_pages::Drop, the shim: ReleaseStartupPages)
// instead gives every page of its executable's code a VMA of its own and clears the accessed
// bits; smaps' per-VMA "Referenced" then names the pages used since. Allocation-free (the shim
// calls it where it must not fault in code of its own).

#include <cstdint>

namespace berth::text_trace {

// Whether BERTH_TEXT_TRACE is set.
bool Enabled();

// Maps every page of [lo, hi) (page-aligned, a private read-only file mapping) and splits the
// range into one VMA per page (MADV_DONTDUMP on every other page: a flag no one reads here).
void SplitPages(uintptr_t lo, uintptr_t hi);

// Clears the accessed bits of every page of this process (/proc/self/clear_refs), so that
// smaps' Referenced counts only what runs from now on.
void ClearReferenced();

}  // namespace berth::text_trace
