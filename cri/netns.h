// The pod's namespaces without a pause process: a short-lived child unshares net (unless
// host network), ipc and uts, sets the hostname and brings loopback up; berthd bind-mounts its
// /proc/<pid>/ns/* onto files under the pod's state directory (pinned: the namespaces live as
// long as the bind mounts), then the child exits. Containers join them by path in their spec.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace berth::cri {

struct PodNamespaces {
  std::string net;  // "" = the host's (host-network pod)
  std::string ipc;  // "" = the host's (IPC NamespaceMode NODE)
  std::string uts;  // "" = the host's (follows the network, as in containerd)
};

// Creates <dir>/{net,ipc,uts}. Internal with errno context on failure (everything created is
// removed again).
// Creates <dir>/{net,ipc,uts} as asked. Internal with errno context on failure (everything
// created is removed again).
absl::StatusOr<PodNamespaces> CreatePodNamespaces(const std::string& dir,
                                                  const std::string& hostname, bool host_network,
                                                  bool host_ipc);

// Unmounts and removes the pinned namespace files; missing ones are fine.
absl::Status RemovePodNamespaces(const PodNamespaces& ns);

}  // namespace berth::cri
