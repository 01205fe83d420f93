// Pod sandboxes: pinned namespaces (cri/netns.h), with a pause container when asked
// (cri/sandbox_infra.cc), CNI attachment and the pod's files.
#include <unistd.h>

#include <optional>

#include "core/status_macros.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/fs.h"
#include "core/log.h"
#include "cri/cni.h"
#include "cri/filters.h"
#include "cri/runtime.h"

namespace berth::cri {
namespace {

std::string HostHostname() {
  char buf[256] = {};
  ::gethostname(buf, sizeof(buf) - 1);
  return buf;
}

bool HostNetwork(const v1::PodSandboxConfig& c) {
  return c.linux().security_context().namespace_options().network() == v1::NODE;
}

}  // namespace

absl::Status CriRuntime::WriteSandboxFiles(const SandboxRecord& r) {
  bool host = r.ns.net.empty();
  std::string hostname = host || r.config.hostname().empty() ? HostHostname() : r.config.hostname();
  BERTH_RETURN_IF_ERROR(fs::WriteFileReplace(r.dir + "/hostname", hostname + "\n", 0644));
  // resolv.conf: the pod's DNSConfig (kubelet's ClusterFirst sends one), else the host's.
  std::string resolv;
  const auto& dns = r.config.dns_config();
  if (dns.servers_size() + dns.searches_size() + dns.options_size() > 0) {
    for (const auto& s : dns.servers()) absl::StrAppend(&resolv, "nameserver ", s, "\n");
    if (dns.searches_size() > 0) absl::StrAppend(&resolv, "search ", absl::StrJoin(dns.searches(), " "), "\n");
    if (dns.options_size() > 0) absl::StrAppend(&resolv, "options ", absl::StrJoin(dns.options(), " "), "\n");
  } else {
    resolv = fs::ReadFile("/etc/resolv.conf").value_or("");
  }
  BERTH_RETURN_IF_ERROR(fs::WriteFileReplace(r.dir + "/resolv.conf", resolv, 0644));
  std::string hosts;
  if (host) {
    hosts = fs::ReadFile("/etc/hosts").value_or("127.0.0.1 localhost\n");
  } else {
    hosts = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n";
    if (!r.ips.empty()) absl::StrAppend(&hosts, r.ips[0], "\t", hostname, "\n");
  }
  return fs::WriteFileReplace(r.dir + "/hosts", hosts, 0644);
}

absl::StatusOr<std::string> CriRuntime::RunPodSandbox(const v1::PodSandboxConfig& config,
                                                      const std::string& handler) {
  if (config.metadata().name().empty()) return absl::InvalidArgumentError("sandbox metadata name is empty");
  BERTH_RETURN_IF_ERROR(deps_.config.RuntimeFor(handler).status());
  // A pause container when the handler asks for one (cri/sandbox_infra.cc). A pauseless pod in
  // PID mode POD gets one too, so its containers can share a PID namespace with a PID 1 that
  // reaps, but only when sandbox_image is already in the image store: POD is the proto's zero
  // value, so clients that never set namespace options (kubelet always does) would otherwise
  // all need a pause image; without it their containers keep their own PID namespaces.
  BERTH_ASSIGN_OR_RETURN(bool pause, deps_.config.UsesPauseContainer(handler));
  std::optional<ImageInfo> pause_image;
  if (!pause && config.linux().security_context().namespace_options().pid() == v1::POD) {
    if (auto image = images_.Resolve(deps_.config.sandbox_image); image.ok()) pause_image = std::move(*image);
  }
  if (pause) {
    auto image = SandboxImage();  // before the lock: this may pull
    if (!image.ok()) {
      return absl::Status(image.status().code(), absl::StrCat("run pod sandbox ", SandboxName(config),
                                                              ": ", image.status().message()));
    }
    pause_image = std::move(*image);
  }
  absl::MutexLock lock(&mu_);
  SandboxRecord r;
  r.id = NewId();
  r.config = config;
  r.runtime_handler = handler;
  r.created_at = NowNanos();
  r.dir = absl::StrCat(deps_.state, "/sandboxes/", r.id);
  std::string name = SandboxName(config);
  BERTH_RETURN_IF_ERROR(store_.Reserve(name, r.id));
  auto fail = [&](absl::Status st) {
    RemoveInfra(&r).IgnoreError();
    TeardownNetwork(&r).IgnoreError();
    fs::RemoveAll(r.dir).IgnoreError();
    store_.Release(name);
    return absl::Status(st.code(), absl::StrCat("run pod sandbox ", name, ": ", st.message()));
  };
  bool host_net = HostNetwork(config);
  bool host_ipc = config.linux().security_context().namespace_options().ipc() == v1::NODE;
  auto ns = CreatePodNamespaces(r.dir, config.hostname(), host_net, host_ipc);
  if (!ns.ok()) return fail(ns.status());
  r.ns = *ns;
  if (!host_net) {
    auto net = LoadCniNetwork(deps_.config.cni_conf_dir);
    if (!net.ok()) return fail(net.status());
    CniAttachment att{r.id, r.ns.net, "eth0", {}};
    for (const auto& pm : config.port_mappings()) {
      std::string proto = pm.protocol() == v1::UDP ? "udp" : pm.protocol() == v1::SCTP ? "sctp" : "tcp";
      att.port_mappings.push_back({pm.host_port(), pm.container_port(), proto, pm.host_ip()});
    }
    auto result = CniAdd(*net, deps_.config.cni_bin_dir, att);
    if (!result.ok()) return fail(result.status());
    r.cni_result = *result;
    r.cni_result["berth.network"] = net->file;
    r.ips = CniResultIps(*result);
  }
  // After CNI: per-interface sysctls (net.ipv4.conf.eth0.*) need eth0.
  std::map<std::string, std::string> sysctls(config.linux().sysctls().begin(),
                                             config.linux().sysctls().end());
  if (absl::Status st = ApplyPodSysctls(r.ns, sysctls); !st.ok()) return fail(st);
  if (absl::Status st = WriteSandboxFiles(r); !st.ok()) return fail(st);
  if (pause_image) {
    if (absl::Status st = StartInfra(*pause_image, &r); !st.ok()) return fail(st);
  }
  r.state = v1::SANDBOX_READY;
  if (absl::Status st = store_.Put(r); !st.ok()) return fail(st);
  return r.id;
}

absl::Status CriRuntime::CheckNetwork(const SandboxRecord& r, bool fresh) {
  constexpr absl::Duration kCheckInterval = absl::Minutes(1);
  if (r.ns.net.empty() || r.cni_result.is_null()) return absl::OkStatus();
  absl::Time now = absl::Now();
  if (!fresh) {
    absl::MutexLock lock(&check_mu_);
    auto it = net_checks_.find(r.id);
    if (it != net_checks_.end() && now - it->second.first < kCheckInterval) return it->second.second;
  }
  std::string file = r.cni_result.value("berth.network", "");
  auto text = fs::ReadFile(file);
  auto net = text.ok() ? ParseCniConfig(file, *text) : LoadCniNetwork(deps_.config.cni_conf_dir);
  absl::Status st = net.status();
  if (net.ok()) {
    nlohmann::json prev = r.cni_result;
    prev.erase("berth.network");
    st = CniCheck(*net, deps_.config.cni_bin_dir, {r.id, r.ns.net, "eth0", {}}, prev);
  }
  absl::MutexLock lock(&check_mu_);
  net_checks_[r.id] = {now, st};
  return st;
}

absl::Status CriRuntime::TeardownNetwork(SandboxRecord* r) {
  absl::Status st;
  if (!r->ns.net.empty() && !r->cni_result.is_null()) {
    std::string file = r->cni_result.value("berth.network", "");
    auto text = fs::ReadFile(file);
    auto net = text.ok() ? ParseCniConfig(file, *text) : LoadCniNetwork(deps_.config.cni_conf_dir);
    if (net.ok()) {
      nlohmann::json prev = r->cni_result;
      prev.erase("berth.network");
      st = CniDel(*net, deps_.config.cni_bin_dir, {r->id, r->ns.net, "eth0", {}}, prev);
    }
    if (st.ok()) r->cni_result = nullptr;
  }
  if (st.ok()) {
    RemovePodNamespaces(r->ns).IgnoreError();
    r->ns = {};
  }
  return st;
}

absl::Status CriRuntime::StopPodSandbox(const std::string& id) {
  auto r = store_.GetSandbox(id);
  if (absl::IsNotFound(r.status())) return absl::OkStatus();  // CRI: idempotent
  BERTH_RETURN_IF_ERROR(r.status());
  for (const auto& c : store_.Containers()) {
    if (c.sandbox_id != r->id) continue;
    BERTH_RETURN_IF_ERROR(StopContainer(c.id, 0));
  }
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(SandboxRecord fresh, store_.GetSandbox(r->id));
  BERTH_RETURN_IF_ERROR(StopInfra(&fresh));
  BERTH_RETURN_IF_ERROR(TeardownNetwork(&fresh));
  fresh.state = v1::SANDBOX_NOTREADY;
  return store_.Put(fresh);
}

absl::Status CriRuntime::RemovePodSandbox(const std::string& id) {
  auto r = store_.GetSandbox(id);
  if (absl::IsNotFound(r.status())) return absl::OkStatus();
  BERTH_RETURN_IF_ERROR(r.status());
  BERTH_RETURN_IF_ERROR(StopPodSandbox(r->id));
  for (const auto& c : store_.Containers()) {
    if (c.sandbox_id == r->id) BERTH_RETURN_IF_ERROR(RemoveContainer(c.id));
  }
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(SandboxRecord fresh, store_.GetSandbox(r->id));
  BERTH_RETURN_IF_ERROR(RemoveInfra(&fresh));
  {
    absl::MutexLock check_lock(&check_mu_);
    net_checks_.erase(r->id);
  }
  fs::RemoveAll(r->dir).IgnoreError();
  store_.Release(SandboxName(r->config));
  return store_.DeleteSandbox(r->id);
}

absl::Status CriRuntime::PodSandboxStatus(const std::string& id, bool verbose,
                                          v1::PodSandboxStatusResponse* out) {
  BERTH_ASSIGN_OR_RETURN(SandboxRecord r, store_.GetSandbox(id));
  FillSandboxStatus(r, out->mutable_status());
  // A pod whose pause process died is not ready any more (containerd: sandbox exit).
  if (!r.infra_id.empty() && r.state == v1::SANDBOX_READY && !InfraRunning(r)) {
    out->mutable_status()->set_state(v1::SANDBOX_NOTREADY);
  }
  // CNI CHECK (spec 1.0): a pod whose network the plugins no longer find intact is not ready,
  // so kubelet recreates it. Verbose (crictl inspectp) checks afresh.
  absl::Status net_check;
  if (r.state == v1::SANDBOX_READY) net_check = CheckNetwork(r, verbose);
  if (!net_check.ok()) out->mutable_status()->set_state(v1::SANDBOX_NOTREADY);
  if (verbose) {
    nlohmann::json info = {{"pid", r.infra_pid}, {"netNamespace", r.ns.net}, {"ipcNamespace", r.ns.ipc},
                           {"utsNamespace", r.ns.uts}, {"sandboxDir", r.dir},
                           {"pauseless", r.infra_id.empty()}, {"cniResult", r.cni_result}};
    if (!net_check.ok()) info["networkCheck"] = std::string(net_check.message());
    (*out->mutable_info())["info"] = info.dump();
  }
  return absl::OkStatus();
}

void CriRuntime::FillSandboxStatus(const SandboxRecord& r, v1::PodSandboxStatus* s) {
  s->set_id(r.id);
  *s->mutable_metadata() = r.config.metadata();
  s->set_state(r.state);
  s->set_created_at(r.created_at);
  if (!r.ips.empty()) {
    s->mutable_network()->set_ip(r.ips[0]);
    for (size_t i = 1; i < r.ips.size(); ++i) s->mutable_network()->add_additional_ips()->set_ip(r.ips[i]);
  }
  auto* nso = s->mutable_linux()->mutable_namespaces()->mutable_options();
  *nso = r.config.linux().security_context().namespace_options();
  *s->mutable_labels() = r.config.labels();
  *s->mutable_annotations() = r.config.annotations();
  s->set_runtime_handler(r.runtime_handler);
}

absl::Status CriRuntime::ListPodSandbox(const v1::PodSandboxFilter* filter,
                                        v1::ListPodSandboxResponse* out) {
  for (const auto& r : store_.Sandboxes()) {
    if (filter != nullptr && !MatchSandbox(*filter, r)) continue;
    auto* s = out->add_items();
    s->set_id(r.id);
    *s->mutable_metadata() = r.config.metadata();
    s->set_state(r.state);
    s->set_created_at(r.created_at);
    *s->mutable_labels() = r.config.labels();
    *s->mutable_annotations() = r.config.annotations();
    s->set_runtime_handler(r.runtime_handler);
  }
  return absl::OkStatus();
}

}  // namespace berth::cri
