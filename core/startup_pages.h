#pragma once
// Start-up pages: code and constants a process touched while starting and rarely again.
//
// Static initialisers (protobuf descriptors, RocksDB's option tables, gRPC's registries) and the
// dynamic linker (symbol tables, relocations of every library) touch pages all over the
// executable and its libraries, and the kernel's fault-around maps 64 KiB per fault. For
// berthd that is ~25 MB of resident, clean, file-backed pages the serving loop never needs.

#include <cstdint>

namespace berth::startup_pages {

// Unmaps, from this process's page tables only, every private read-only file mapping that holds
// no private copy (Anonymous: 0 in /proc/self/smaps). The page cache keeps the data, so a later
// access is a minor fault; other processes are not affected. Mappings that are writable, shared,
// not backed by a file, or hold copy-on-write pages (RELRO: the GOT) are left alone, so no
// written byte can be lost. Returns the resident bytes released.
uint64_t Drop();

}  // namespace berth::startup_pages
