// A harness's scratch directory: on tmpfs when there is one (every metadata commit and blob the
// plugins write is synced; tmpfs makes that free), else under /tmp; removed at exit.
#pragma once

#include <cstdlib>
#include <string>

#include "core/fs.h"

namespace berth::fuzz {

inline std::string MakeScratchDir(const std::string& name) {
  static std::string dir;  // one per harness process
  for (const char* base : {"/dev/shm", "/tmp"}) {
    std::string tmpl = std::string(base) + "/berth-fuzz-" + name + ".XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) {
      dir = tmpl;
      std::atexit([] { (void)fs::RemoveAll(dir); });
      return dir;
    }
  }
  std::abort();
}

}  // namespace berth::fuzz
