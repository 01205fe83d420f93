// The pod's infra (pause) container, for containerd compatibility: pods of a runtime handler
// with sandbox_mode = "podsandbox", and pods asking for PID NamespaceMode POD (their containers
// share the infra process's PID namespace, so it must outlive them and reap as PID 1, as the
// pause process does under containerd and kubelet's shareProcessNamespace expects).
//
// The namespaces are still created and pinned first (cri/netns.h) and the infra container
// joins them by path, as containerd 1.6 does with the netns it pins for CNI; the infra gets a
// new PID namespace of its own unless the pod uses the host's. Like containerd, the infra
// container's id is the sandbox id, it is not a CRI container (not listed), and its containerd
// record is labelled io.cri-containerd.kind=sandbox.
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "cri/runtime.h"
#include "cri/spec.h"
#include "services/common/mount_convert.h"

namespace berth::cri {
namespace {

namespace task = ::containerd::task::v2;

// The pause process's ContainerConfig: the pod's security context, the image's entrypoint.
v1::ContainerConfig InfraConfig(const v1::PodSandboxConfig& pod, const std::string& image) {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("POD");
  c.mutable_image()->set_image(image);
  const auto& psc = pod.linux().security_context();
  auto* sc = c.mutable_linux()->mutable_security_context();
  *sc->mutable_namespace_options() = psc.namespace_options();
  // A new PID namespace for the infra (it is PID 1 of a POD-mode pod), unless the host's.
  if (psc.namespace_options().pid() != v1::NODE) sc->mutable_namespace_options()->set_pid(v1::CONTAINER);
  sc->set_privileged(psc.privileged());
  if (psc.has_run_as_user()) *sc->mutable_run_as_user() = psc.run_as_user();
  if (psc.has_run_as_group()) *sc->mutable_run_as_group() = psc.run_as_group();
  *sc->mutable_seccomp() = psc.seccomp();
  sc->set_readonly_rootfs(true);  // containerd runs pause read-only too
  return c;
}

}  // namespace

absl::StatusOr<ImageInfo> CriRuntime::SandboxImage() {
  const std::string& ref = deps_.config.sandbox_image;
  auto image = images_.Resolve(ref);
  if (!absl::IsNotFound(image.status()) || !deps_.pull) return image;
  // containerd pulls sandbox_image on first use (kubelet never asks for it).
  if (auto pulled = deps_.pull(ref); !pulled.ok()) {
    return absl::Status(pulled.status().code(),
                        absl::StrCat("pull sandbox image ", ref, ": ", pulled.status().message()));
  }
  return images_.Resolve(ref);
}

absl::Status CriRuntime::StartInfra(const ImageInfo& image, SandboxRecord* r) {
  auto sn = deps_.md->snapshotters.find(deps_.config.snapshotter);
  if (sn == deps_.md->snapshotters.end()) {
    return absl::NotFoundError(absl::StrCat("snapshotter ", deps_.config.snapshotter, " is not ready"));
  }
  BERTH_ASSIGN_OR_RETURN(std::string runtime, deps_.config.RuntimeFor(r->runtime_handler));
  v1::ContainerConfig cfg = InfraConfig(r->config, deps_.config.sandbox_image);
  SpecInputs in{r->id, &cfg, &r->config, image.config, r->ns, r->id, "",
                deps_.config.restrict_oom_score_adj, daemon_oom_score_adj_, "", ""};
  BERTH_ASSIGN_OR_RETURN(nlohmann::json spec, BuildSpec(in));
  spec["annotations"]["io.kubernetes.cri.container-type"] = "sandbox";
  spec["annotations"]["io.kubernetes.cri.sandbox-name"] = r->config.metadata().name();
  spec["annotations"]["io.kubernetes.cri.sandbox-namespace"] = r->config.metadata().namespace_();
  r->infra_id = r->id;
  BERTH_ASSIGN_OR_RETURN(auto mounts, sn->second->Prepare(ns_, r->infra_id, image.chain_id, {}));
  containers::Container c;
  c.id = r->infra_id;
  c.image = image.names.empty() ? image.id : image.names[0];
  c.runtime_name = runtime;
  c.spec.set_type_url(kSpecTypeUrl);
  c.spec.set_value(spec.dump());
  c.snapshotter = deps_.config.snapshotter;
  c.snapshot_key = r->infra_id;
  c.labels = {{"io.cri-containerd.kind", "sandbox"}};
  if (auto st = deps_.containers->Create(ns_, c); !st.ok()) {
    RemoveInfra(r).IgnoreError();
    return st.status();
  }
  runtime::CreateOpts opts;
  opts.spec = c.spec.value();
  opts.runtime = runtime;
  google::protobuf::RepeatedPtrField<::containerd::types::Mount> pm;
  services::MountsToProto(mounts, &pm);
  opts.rootfs.assign(pm.begin(), pm.end());
  absl::Status started = [&]() -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(auto shim, deps_.tasks->Create(ns_, r->infra_id, opts));
    task::StartRequest req;
    req.set_id(r->infra_id);
    task::StartResponse resp;
    BERTH_RETURN_IF_ERROR(shim->Call("Start", req, &resp, absl::Minutes(2)));
    r->infra_pid = static_cast<int>(resp.pid());
    return absl::OkStatus();
  }();
  if (!started.ok()) {
    RemoveInfra(r).IgnoreError();
    return absl::Status(started.code(), absl::StrCat("start pause container: ", started.message()));
  }
  return absl::OkStatus();
}

absl::Status CriRuntime::StopInfra(SandboxRecord* r) {
  if (r->infra_id.empty()) return absl::OkStatus();
  if (auto shim = deps_.tasks->Get(ns_, r->infra_id); shim.ok()) {
    // pause ignores SIGTERM as PID 1: containerd stops it with SIGKILL too.
    task::KillRequest kill;
    kill.set_id(r->infra_id);
    kill.set_signal(SIGKILL);
    kill.set_all(true);
    (*shim)->Call("Kill", kill, nullptr, absl::Seconds(10)).IgnoreError();
    absl::Time deadline = absl::Now() + absl::Seconds(30);
    while (absl::Now() < deadline) {
      task::StateRequest sreq;
      sreq.set_id(r->infra_id);
      task::StateResponse state;
      if (!(*shim)->Call("State", sreq, &state, absl::Seconds(5)).ok() ||
          state.status() == ::containerd::v1::types::STOPPED) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(20));
    }
  }
  auto del = deps_.tasks->Delete(ns_, r->infra_id);
  if (!del.ok() && !absl::IsNotFound(del.status())) {
    return absl::Status(del.status().code(),
                        absl::StrCat("stop pause container ", r->infra_id, ": ", del.status().message()));
  }
  r->infra_pid = 0;
  return absl::OkStatus();
}

absl::Status CriRuntime::RemoveInfra(SandboxRecord* r) {
  if (r->infra_id.empty()) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(StopInfra(r));
  if (auto c = deps_.containers->Get(ns_, r->infra_id); c.ok()) {
    if (auto sn = deps_.md->snapshotters.find(c->snapshotter); sn != deps_.md->snapshotters.end()) {
      absl::Status st = sn->second->Remove(ns_, c->snapshot_key);
      if (!st.ok() && !absl::IsNotFound(st)) return st;
    }
    BERTH_RETURN_IF_ERROR(deps_.containers->Delete(ns_, r->infra_id));
  } else if (auto sn = deps_.md->snapshotters.find(deps_.config.snapshotter);
             sn != deps_.md->snapshotters.end()) {
    // Prepared, but the container record was never made.
    sn->second->Remove(ns_, r->infra_id).IgnoreError();
  }
  r->infra_id.clear();
  return absl::OkStatus();
}

bool CriRuntime::InfraRunning(const SandboxRecord& r) {
  auto shim = deps_.tasks->Get(ns_, r.infra_id);
  if (!shim.ok()) return false;
  task::StateRequest req;
  req.set_id(r.infra_id);
  task::StateResponse state;
  return (*shim)->Call("State", req, &state, absl::Seconds(5)).ok() &&
         state.status() == ::containerd::v1::types::RUNNING;
}

}  // namespace berth::cri
