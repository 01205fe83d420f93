// A task's bundle, as containerd 1.6 lays it out (runtime/v2/bundle.go):
//   <state>/<ns>/<id>/           0700   cwd of the shim
//       config.json                     the container's OCI spec (the spec Any's bytes)
//       rootfs/                 0711    the shim mounts the rootfs mounts here
//       work -> <root>/<ns>/<id>        the runtime's persistent work dir
//       address                         the shim's ttrpc address (written by the shim and us)
//       shim-binary-path                the shim binary, for re-attach and cleanup
//       log                             fifo: the shim's log, read by the daemon
//       berth-exit                      {"pid","status","exited_at"} of the init process, once
//                                       the shim published /tasks/exit (survives a restart)
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "shim-v2/manager/trash.h"

namespace berth::runtime {

struct Exit {
  uint32_t pid = 0;
  uint32_t status = 0;
  absl::Time exited_at = absl::UnixEpoch();
};

struct Bundle {
  std::string ns, id;
  std::string path;      // <state>/<ns>/<id>
  std::string work_dir;  // <root>/<ns>/<id>

  // Creates the bundle. AlreadyExists when the directory exists; InvalidArgument for a bad id.
  static absl::StatusOr<Bundle> Create(const std::string& state, const std::string& root,
                                       const std::string& ns, const std::string& id,
                                       const std::string& spec);
  // The bundle at <state>/<ns>/<id> (not checked).
  static Bundle At(const std::string& state, const std::string& root, const std::string& ns,
                   const std::string& id);

  // Unmounts a rootfs left mounted (lazily) and removes the bundle and work dirs: in place, or
  // through the trash of their file systems (trash.h).
  absl::Status Delete(Trash* state_trash = nullptr, Trash* root_trash = nullptr) const;

  absl::Status WriteExit(const Exit& exit) const;
  std::optional<Exit> ReadExit() const;
};

}  // namespace berth::runtime
