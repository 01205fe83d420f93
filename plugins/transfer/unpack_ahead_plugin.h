// io.containerd.internal.v1.unpack-ahead: the UnpackAhead core (unpack_ahead.h) as a plugin, so
// the content and diff services can reach it. Registered by services/diff's registration.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::transfer {

inline constexpr char kUnpackAheadId[] = "unpack-ahead";

// [plugins."io.containerd.internal.v1.unpack-ahead"]
//   enabled = true            # false: every Diff.Apply is a normal apply
//   max_concurrent = 2        # extractions at once
//   ttl_seconds = 600         # an unused staged tree is removed after this
//   max_staged_bytes = 8589934592
//   snapshotter_root = ""     # "" = the overlayfs plugin's root
// When disabled, or when overlayfs is not ready, the plugin is a no-op instance whose exports
// say why (enabled=false, reason=...).
absl::Status RegisterUnpackAhead(plugin::Registry& registry);

}  // namespace berth::transfer
