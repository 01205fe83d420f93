// io.containerd.transfer.v1.berth: the puller as a plugin.
//
//   [plugins."io.containerd.transfer.v1.berth"]
//     config_path = "/etc/berth/certs.d"   # <host>/hosts.toml directory
//     max_concurrent_downloads = 3
//     max_concurrent_uploads = 3           # blobs pushed at once
//     low_speed_seconds = 30               # a transfer with no progress for this long fails
//     max_attempts = 5                     # per request, transient registry failures
//     snapshotter = "overlayfs"            # default unpack target
#pragma once

#include "plugins/registry/registry.h"

namespace berth::transfer {

absl::Status RegisterTransferPlugin(plugin::Registry& registry);

}  // namespace berth::transfer
