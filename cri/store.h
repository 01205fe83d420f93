// The CRI's own records of pod sandboxes and containers, one JSON file each under the plugin's
// root (<root>/io.containerd.grpc.v1.cri/{sandboxes,containers}/<id>.json, written atomically),
// so a berthd restart keeps every pod; plus the in-memory name reservations.
//
// Thread-safety: all methods lock; records are returned by value.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "cri/netns.h"
#include "nlohmann/json.hpp"
#include "proto/cri_api.h"

namespace berth::cri {

struct SandboxRecord {
  std::string id;
  ::runtime::v1::PodSandboxConfig config;
  ::runtime::v1::PodSandboxState state = ::runtime::v1::SANDBOX_NOTREADY;
  int64_t created_at = 0;  // unix nanos
  PodNamespaces ns;
  std::string dir;  // state dir: pinned namespaces, hosts, resolv.conf, hostname
  std::vector<std::string> ips;
  nlohmann::json cni_result;  // null when not attached
  std::string runtime_handler;
  // The pause (infra) container of a "podsandbox" pod or a pod with PID namespace mode POD
  // (cri/sandbox_infra.cc): its containerd container/task id ("" = pauseless pod) and the pid
  // of its process, PID 1 of the pod's PID namespace.
  std::string infra_id;
  int infra_pid = 0;
};

struct ContainerRecord {
  std::string id;
  std::string sandbox_id;
  ::runtime::v1::ContainerConfig config;
  std::string image_ref;  // the image's first repo tag / digest, for ContainerStatus.image_ref
  std::string image_id;   // config digest
  ::runtime::v1::ContainerState state = ::runtime::v1::CONTAINER_CREATED;
  int64_t created_at = 0, started_at = 0, finished_at = 0;
  int32_t exit_code = 0;
  std::string reason, message;
  std::string log_path;  // absolute ("" = no log)
  std::string stdout_fifo, stderr_fifo;
  std::string snapshot_key, runtime;
  int stop_signal = 15;
};

// The record's name: <name>_<namespace>_<uid>_<attempt> for pods, and
// <name>_<pod name>_<pod namespace>_<pod uid>_<attempt> for containers (containerd's makeName).
std::string SandboxName(const ::runtime::v1::PodSandboxConfig& c);
std::string ContainerName(const ::runtime::v1::ContainerConfig& c,
                          const ::runtime::v1::PodSandboxConfig& pod);

class CriStore {
 public:
  explicit CriStore(std::string root) : root_(std::move(root)) {}

  // Reads every record (unreadable ones are skipped with a warning) and reserves their names.
  absl::Status Load();

  // AlreadyExists: "name \"x\" is reserved for \"<id>\"" (CRI: duplicate pod/container name).
  absl::Status Reserve(const std::string& name, const std::string& id);
  void Release(const std::string& name);

  absl::Status Put(const SandboxRecord& r);
  absl::Status Put(const ContainerRecord& r);
  // NotFound ("sandbox \"x\" not found"). Ids may be given as a unique prefix, as crictl does.
  absl::StatusOr<SandboxRecord> GetSandbox(const std::string& id);
  absl::StatusOr<ContainerRecord> GetContainer(const std::string& id);
  std::vector<SandboxRecord> Sandboxes();
  std::vector<ContainerRecord> Containers();
  // Missing records are fine.
  absl::Status DeleteSandbox(const std::string& id);
  absl::Status DeleteContainer(const std::string& id);

 private:
  template <typename M>
  absl::StatusOr<std::string> Resolve(const M& m, const std::string& id, const char* kind);

  std::string root_;
  absl::Mutex mu_;
  std::map<std::string, SandboxRecord> sandboxes_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, ContainerRecord> containers_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> names_ ABSL_GUARDED_BY(mu_);
};

}  // namespace berth::cri
