// The pod's namespaces without a pause process: a short-lived child unshares net (unless
// host network), ipc and uts, sets the hostname and brings loopback up; berthd bind-mounts its
// /proc/<pid>/ns/* onto files under the pod's state directory (pinned: the namespaces live as
// long as the bind mounts), then the child exits. Containers join them by path in their spec.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "absl/status/statusor.h"

namespace berth::cri {

struct PodNamespaces {
  std::string net;  // "" = the host's (host-network pod)
  std::string ipc;  // "" = the host's (IPC NamespaceMode NODE)
  std::string uts;  // "" = the host's (follows the network, as in containerd)
};

// Creates <dir>/{net,ipc,uts} as asked. Internal with errno context on failure (everything
// created is removed again).
absl::StatusOr<PodNamespaces> CreatePodNamespaces(const std::string& dir,
                                                  const std::string& hostname, bool host_network,
                                                  bool host_ipc);

// Unmounts and removes the pinned namespace files; missing ones are fine.
absl::Status RemovePodNamespaces(const PodNamespaces& ns);

// Runs fn on a short-lived thread that joined the namespace pinned at `ns_path` (nstype
// CLONE_NEWNET or CLONE_NEWIPC: the ones a thread of a multi-threaded process may join), so
// /proc/thread-self/net and /proc/sys/{net,kernel,fs/mqueue} show that namespace. The caller's
// threads never change namespace. Internal with errno context when it cannot be entered;
// otherwise fn's status.
absl::Status RunInNamespace(const std::string& ns_path, int nstype,
                            const std::function<absl::Status()>& fn);

// Which pod namespace a sysctl belongs to (kubelet's namespaced sysctls: net.*, the IPC ones
// kernel.shm*, kernel.msg*, kernel.sem, fs.mqueue.*, and the UTS ones kernel.hostname /
// kernel.domainname); kNone for node-wide sysctls, which a pod must not set.
enum class SysctlNamespace { kNone, kNet, kIpc, kUts };
SysctlNamespace ClassifySysctl(const std::string& name);

// "/proc/sys/..." for a sysctl in dotted ("net.ipv4.ip_forward") or slashed form.
// InvalidArgument for names with "..", empty parts or characters outside [A-Za-z0-9_.-/].
absl::StatusOr<std::string> SysctlPath(const std::string& name);

// Applies the pod's sysctls in its pinned namespaces: net.* in `ns.net`, IPC ones in `ns.ipc`.
// InvalidArgument for a node-wide sysctl, or one whose namespace the pod shares with the host
// (host network / host IPC), as kubelet and runc refuse them; UTS ones are left to the
// container spec. Internal (errno) when a write fails (unknown sysctl: NotFound).
absl::Status ApplyPodSysctls(const PodNamespaces& ns,
                             const std::map<std::string, std::string>& sysctls);

}  // namespace berth::cri
