#pragma once
// Where a layer can be written without mounting anything.

#include <optional>
#include <string>
#include <vector>

#include "core/mount/mount.h"

namespace berth::mount {

struct WritableDir {
  std::string dir;
  bool overlay_upper = false;       // dir is an overlay upperdir (whiteouts as 0/0 devices)
  std::vector<std::string> lowers;  // the overlay's lowerdirs, uppermost first
};

// A single writable bind's source directory, or a single overlay's upperdir with its lowers;
// nullopt for anything else (several mounts, a read-only bind, an overlay without upper).
std::optional<WritableDir> WritableDirOf(const std::vector<Mount>& mounts);

}  // namespace berth::mount
