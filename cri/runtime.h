// The CRI runtime core: pod sandboxes (pinned namespaces + CNI, no pause process), containers
// (records in plugins/containers, tasks through the runtime v2 manager, logs in the CRI format)
// and the image core. The gRPC adapters in cri/server/ call one method per RPC.
//
// Everything lives in CRI's own namespace "k8s.io". Errors use the codes kubelet expects:
// NotFound for unknown ids (Remove*/Stop* of unknown ids succeed, CRI requires idempotence),
// AlreadyExists for a reserved name, FailedPrecondition for a call in the wrong state,
// InvalidArgument for bad configs, DeadlineExceeded for an ExecSync timeout.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cri/config.h"
#include "cri/events.h"
#include "cri/images.h"
#include "cri/io.h"
#include "cri/store.h"
#include "core/mount/mount.h"
#include "plugins/containers/containers.h"
#include "plugins/metadata/plugin.h"
#include "proto/cri_api.h"
#include "shim-v2/manager/manager.h"

namespace berth::cri {

namespace v1 = ::runtime::v1;

struct CriDeps {
  CriConfig config;
  std::string root, state;  // the plugin's directories
  std::shared_ptr<metadata::Metadata> md;
  std::shared_ptr<containers::ContainerStore> containers;
  std::shared_ptr<runtime::TaskManager> tasks;
  // Pulls a reference into the CRI namespace (the plugin's registry puller); null when pulls
  // are not built. Used for sandbox_image, which kubelet never pulls itself.
  std::function<absl::StatusOr<std::string>(const std::string& ref)> pull;
};

class CriRuntime {
 public:
  explicit CriRuntime(CriDeps deps);
  ~CriRuntime();

  // Loads the records and restarts the log pumps of running containers.
  absl::Status Init();

  ImageCore& images() { return images_; }
  const CriConfig& config() const { return deps_.config; }
  // OK, or why the network is not ready (no CNI config).
  absl::Status NetworkStatus() const;
  void SetPodCidr(const std::string& cidr);

  // --- sandboxes (cri/sandbox.cc)
  absl::StatusOr<std::string> RunPodSandbox(const v1::PodSandboxConfig& config,
                                            const std::string& runtime_handler);
  absl::Status StopPodSandbox(const std::string& id);
  absl::Status RemovePodSandbox(const std::string& id);
  absl::Status PodSandboxStatus(const std::string& id, bool verbose,
                                v1::PodSandboxStatusResponse* out);
  absl::Status ListPodSandbox(const v1::PodSandboxFilter* filter, v1::ListPodSandboxResponse* out);

  // --- containers (cri/container.cc, cri/container_ops.cc)
  absl::StatusOr<std::string> CreateContainer(const std::string& sandbox_id,
                                              const v1::ContainerConfig& config);
  absl::Status StartContainer(const std::string& id);
  absl::Status StopContainer(const std::string& id, int64_t timeout_seconds);
  absl::Status RemoveContainer(const std::string& id);
  absl::Status ContainerStatus(const std::string& id, bool verbose,
                               v1::ContainerStatusResponse* out);
  absl::Status ListContainers(const v1::ContainerFilter* filter, v1::ListContainersResponse* out);
  absl::Status ExecSync(const v1::ExecSyncRequest& req, v1::ExecSyncResponse* out);
  absl::Status UpdateContainerResources(const std::string& id,
                                        const v1::LinuxContainerResources& resources);
  absl::Status ReopenContainerLog(const std::string& id);
  absl::Status ContainerStats(const std::string& id, v1::ContainerStats* out);

  // --- stats, metrics, events (cri/container_stats.cc, cri/container_events.cc)
  // CPU/memory from the container's cgroup (linux.cgroupsPath of its spec), writable layer from
  // the snapshotter. A container without a live cgroup (created, exited) gets timestamps only.
  // NotFound for an unknown id.
  // ListContainerStats: every container matching the filter (id / pod prefix, labels).
  absl::Status ListContainerStats(const v1::ContainerStatsFilter* filter,
                                  v1::ListContainerStatsResponse* out);
  // The pod's usage: its cgroup_parent's cgroup when it exists, else the sum of its running
  // containers; network of its netns (eth0 as the default interface); its containers' stats.
  // NotFound for an unknown id.
  absl::Status PodSandboxStats(const std::string& id, v1::PodSandboxStats* out);
  absl::Status ListPodSandboxStats(const v1::PodSandboxStatsFilter* filter,
                                   v1::ListPodSandboxStatsResponse* out);
  static void ListMetricDescriptors(v1::ListMetricDescriptorsResponse* out);
  // One PodSandboxMetrics per READY pod with the descriptors' metrics (kubelet's
  // PodAndContainerStatsFromCRI).
  absl::Status ListPodSandboxMetrics(v1::ListPodSandboxMetricsResponse* out);
  // cri-api 0.32: kubelet tells the runtime the pod's new overhead/resources after an in-place
  // resize. Like containerd 2.x without NRI, nothing to apply (no pause container; containers
  // are resized by UpdateContainerResources): OK for a known pod, NotFound otherwise.
  absl::Status UpdatePodSandboxResources(const std::string& id);
  // GetContainerEvents streams subscribe here.
  EventBroker& events() { return events_; }

 private:
  friend class StreamRuntime;  // cri/stream_runtime.h: exec/attach/port-forward sessions

  // Brings a RUNNING record up to date with its task (exited -> EXITED with the exit code,
  // task deleted); returns the fresh record.
  absl::StatusOr<ContainerRecord> Refresh(const std::string& id);
  absl::Status FinishExit(ContainerRecord* r, bool killed_by_stop);
  absl::Status StartLogger(const ContainerRecord& r);
  absl::Status WriteSandboxFiles(const SandboxRecord& r);
  absl::Status TeardownNetwork(SandboxRecord* r);
  // --- the pod's pause container (cri/sandbox_infra.cc)
  // sandbox_image resolved, pulled first when missing and a puller is there.
  absl::StatusOr<ImageInfo> SandboxImage();
  // Creates and starts the infra container (id = the sandbox id) in r's pinned namespaces;
  // sets r->infra_id/infra_pid. Everything made is removed again on failure.
  absl::Status StartInfra(const ImageInfo& image, SandboxRecord* r);
  // SIGKILL, wait, delete the task (OK when there is none); r->infra_pid = 0.
  absl::Status StopInfra(SandboxRecord* r);
  // StopInfra, then the snapshot and the containerd record; r->infra_id cleared.
  absl::Status RemoveInfra(SandboxRecord* r);
  bool InfraRunning(const SandboxRecord& r);
  // CNI CHECK of the pod's attachment (cri/sandbox.cc): run when `fresh` or when the last
  // result is older than a minute (kubelet asks PodSandboxStatus every few seconds per pod;
  // exec'ing the plugins each time would cost more than the check is worth), cached otherwise.
  absl::Status CheckNetwork(const SandboxRecord& r, bool fresh);
  // ContainerStatus fields from a record as stored (no task refresh).
  void FillContainerStatus(const ContainerRecord& r, v1::ContainerStatus* s);
  void FillSandboxStatus(const SandboxRecord& r, v1::PodSandboxStatus* s);
  // Publishes a CRI container event with the pod's status and its containers' statuses.
  // (The sandbox id is passed: a DELETED container's record is already gone.)
  void PublishEvent(const std::string& container_id, const std::string& sandbox_id,
                    v1::ContainerEventType type);
  // cgroup linux.cgroupsPath of a container ("" when its record or spec has none).
  std::string CgroupsPath(const std::string& container_id);
  // Resolves a user name (CRI run_as_username, or a non-numeric image User) in the image rootfs.
  // PID NamespaceMode TARGET: the running target's pid namespace path. InvalidArgument when the
  // target is not a container of the pod, FailedPrecondition when it is not running.
  absl::StatusOr<std::string> TargetPidNamespace(const std::string& sandbox_id,
                                                 const std::string& target_id);
  // keep_gid: CRI's run_as_group is set and stays. InvalidArgument when the name is unknown.
  absl::Status ResolveImageUser(const std::vector<mount::Mount>& rootfs, const std::string& user_spec,
                                bool keep_gid, nlohmann::json* spec);

  CriDeps deps_;
  CriStore store_;
  ImageCore images_;
  std::string ns_ = kCriNamespace;
  int daemon_oom_score_adj_ = 0;
  absl::Mutex mu_;  // serialises lifecycle changes (create/start/stop/remove) per daemon
  std::map<std::string, std::unique_ptr<ContainerLogger>> loggers_ ABSL_GUARDED_BY(mu_);
  std::string pod_cidr_ ABSL_GUARDED_BY(mu_);
  EventBroker events_;
  absl::Mutex check_mu_;  // CNI CHECK results by sandbox id: when, and what it said
  std::map<std::string, std::pair<absl::Time, absl::Status>> net_checks_ ABSL_GUARDED_BY(check_mu_);
};

// 64 random hex characters (containerd's id format).
std::string NewId();
int64_t NowNanos();

}  // namespace berth::cri
