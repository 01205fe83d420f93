#include "core/mount/writable_dir.h"

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace berth::mount {

std::optional<WritableDir> WritableDirOf(const std::vector<Mount>& mounts) {
  if (mounts.size() != 1) return std::nullopt;
  const Mount& m = mounts[0];
  if (m.type == "bind" || m.type == "rbind") {
    if (std::find(m.options.begin(), m.options.end(), "ro") != m.options.end()) return std::nullopt;
    return WritableDir{m.source, false, {}};
  }
  if (m.type != "overlay") return std::nullopt;
  WritableDir w{"", true, {}};
  for (const auto& o : m.options) {
    if (absl::StartsWith(o, "upperdir=")) w.dir = o.substr(9);
    if (absl::StartsWith(o, "lowerdir=")) w.lowers = absl::StrSplit(o.substr(9), ':', absl::SkipEmpty());
  }
  if (w.dir.empty()) return std::nullopt;
  return w;
}

}  // namespace berth::mount
