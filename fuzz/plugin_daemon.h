// berthd's plugins inside a fuzz harness: a scratch directory for their root and state, and the
// registration and initialisation of the plugins a harness names. Any failure aborts: a harness
// that cannot start its daemon must not report inputs as passing.
#pragma once

#include <cstdlib>
#include <initializer_list>
#include <string>

#include "core/config.h"
#include "core/fs.h"
#include "plugins/registry/registry.h"

namespace berth::fuzz {

// On tmpfs when there is one (every metadata commit and blob the plugins write is synced; tmpfs
// makes that free), else under /tmp; removed at exit.
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

using RegisterFn = absl::Status (*)(plugin::Registry&);

// Registers `plugins` and initialises them with root and state under `dir`.
inline void StartPlugins(plugin::Registry& registry, const std::string& dir,
                         std::initializer_list<RegisterFn> plugins) {
  for (RegisterFn reg : plugins) {
    if (!reg(registry).ok()) std::abort();
  }
  DaemonConfig config;
  config.root = dir + "/root";
  config.state = dir + "/state";
  if (!fs::MkdirAll(config.root, 0711).ok() || !fs::MkdirAll(config.state, 0711).ok() ||
      !registry.InitAll(config).ok()) {
    std::abort();
  }
}

}  // namespace berth::fuzz
