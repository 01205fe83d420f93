// Tests' view of this executable's own mappings in /proc/self/smaps, which walks the page
// tables. (statm's "shared" is read from per-CPU counters that lag behind on a multi-core
// kernel: a count a few pages off made comparisons flaky under load.)
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace berth::testing {

struct AddressRange {
  uintptr_t lo = 0, hi = 0;
};

// Resident KiB of the executable's mappings whose permissions ("r-xp") pass `want`; their
// address ranges go to `ranges` when given.
template <typename Want>
long ResidentSelfKib(Want want, std::vector<AddressRange>* ranges = nullptr) {
  char exe[4096];
  ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
  if (n <= 0) return -1;
  const std::string self(exe, static_cast<size_t>(n));
  std::ifstream smaps("/proc/self/smaps");
  long total = 0;
  bool counting = false;
  for (std::string line; std::getline(smaps, line);) {
    std::istringstream in(line);
    std::string first, perms, offset, dev, inode, path;
    in >> first;
    if (first == "Rss:") {
      long kib = 0;
      if (counting && (in >> kib)) total += kib;
    } else if (first.find('-') != std::string::npos && (in >> perms >> offset >> dev >> inode)) {
      std::getline(in >> std::ws, path);  // a mapping's header: address perms offset dev inode path
      counting = path == self && want(perms);
      if (counting && ranges != nullptr) {
        AddressRange r;
        std::sscanf(first.c_str(), "%lx-%lx", &r.lo, &r.hi);
        ranges->push_back(r);
      }
    }
  }
  return total;
}

}  // namespace berth::testing
