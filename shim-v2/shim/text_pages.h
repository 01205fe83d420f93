// Start-up pages of the shim's own executable. Static initialisers (libstdc++'s ios_base::Init
// and its locale facets, absl), flag parsing and the server's set-up run once, and the kernel's
// fault-around maps 64 KiB of the file around every page they touch: pages the serving shim
// never runs again, but which would stay in its RSS for the container's whole life.
#pragma once

namespace berth::shim {

// Unmaps the clean, read-only file pages of the executable's non-writable PT_LOAD segments
// (text, rodata, eh_frame) from this process: MADV_DONTNEED on a private file mapping without
// private copies drops the page-table entries only; the page cache keeps the data (shared by
// every shim) and a later access is a minor fault. Writable segments - data, bss and RELRO,
// whose GOT holds private copies written at start-up - are never touched. Call it when a phase
// is over (start-up; a task's create and start): whatever serving needs is faulted straight
// back, so RSS afterwards is what serving really uses. Allocation-free, no /proc parsing (it must not fault in code of its own).
// Under BERTH_TEXT_TRACE, the N-th call after the first saves /proc/self/smaps to
// text-trace.N.smaps in the working directory (the bundle) first: the pages that phase used.
void ReleaseStartupPages();

}  // namespace berth::shim
