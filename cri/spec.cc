#include "core/status_macros.h"
#include "cri/spec.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "cri/json_doc.h"

namespace berth::cri {
namespace {

using json = nlohmann::json;
namespace v1 = ::runtime::v1;

const json& ImageProcess(const json& image_config) {
  static const json kEmpty = json::object();
  if (image_config.is_object() && image_config.contains("config") && image_config["config"].is_object()) {
    return image_config["config"];
  }
  return kEmpty;
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array()) {
    for (const auto& s : j[key]) {
      if (s.is_string()) out.push_back(s);
    }
  }
  return out;
}

json BaseMounts(bool privileged) {
  return json::array({
      {{"destination", "/proc"}, {"type", "proc"}, {"source", "proc"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/dev"}, {"type", "tmpfs"}, {"source", "tmpfs"}, {"options", {"nosuid", "strictatime", "mode=755", "size=65536k"}}},
      {{"destination", "/dev/pts"}, {"type", "devpts"}, {"source", "devpts"}, {"options", {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}}},
      {{"destination", "/dev/mqueue"}, {"type", "mqueue"}, {"source", "mqueue"}, {"options", {"nosuid", "noexec", "nodev"}}},
      {{"destination", "/sys"}, {"type", "sysfs"}, {"source", "sysfs"}, {"options", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}}},
      {{"destination", "/sys/fs/cgroup"}, {"type", "cgroup"}, {"source", "cgroup"}, {"options", {"nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"}}},
      // Without a pause container there is no pod-wide /dev/shm to share; each container gets its own.
      {{"destination", "/dev/shm"}, {"type", "tmpfs"}, {"source", "shm"}, {"options", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}}},
  });
}

absl::Status AddUserMounts(const v1::ContainerConfig& c, json* spec) {
  std::string rootfs_propagation;
  for (const auto& m : c.mounts()) {
    if (!absl::StartsWith(m.container_path(), "/")) {
      return absl::InvalidArgumentError(absl::StrCat("mount path \"", m.container_path(), "\" is not absolute"));
    }
    // Host paths that are symlinks are resolved on the host, as containerd does; a missing
    // host path is created as a directory (kubelet's hostPath DirectoryOrCreate relies on it).
    std::string src = m.host_path();
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) BERTH_RETURN_IF_ERROR(fs::MkdirAll(src, 0755));
    char resolved[PATH_MAX];
    if (::realpath(src.c_str(), resolved) != nullptr) src = resolved;
    std::string prop = "rprivate";
    if (m.propagation() == v1::PROPAGATION_HOST_TO_CONTAINER) {
      prop = "rslave";
      if (rootfs_propagation.empty()) rootfs_propagation = "rslave";
    } else if (m.propagation() == v1::PROPAGATION_BIDIRECTIONAL) {
      prop = "rshared";
      rootfs_propagation = "rshared";
    }
    // A user mount over a default one replaces it.
    auto& mounts = (*spec)["mounts"];
    for (auto it = mounts.begin(); it != mounts.end();) {
      it = (*it)["destination"] == m.container_path() ? mounts.erase(it) : it + 1;
    }
    mounts.push_back({{"destination", m.container_path()}, {"type", "bind"}, {"source", src},
                      {"options", {"rbind", prop, m.readonly() ? "ro" : "rw"}}});
  }
  if (!rootfs_propagation.empty()) (*spec)["linux"]["rootfsPropagation"] = rootfs_propagation;
  return absl::OkStatus();
}

absl::Status AddDevices(const v1::ContainerConfig& c, json* spec) {
  for (const auto& d : c.devices()) {
    struct stat st;
    if (::stat(d.host_path().c_str(), &st) != 0 || !(S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode))) {
      return absl::InvalidArgumentError(absl::StrCat("device \"", d.host_path(), "\" is not a device node"));
    }
    std::string type = S_ISCHR(st.st_mode) ? "c" : "b";
    int64_t maj = major(st.st_rdev), min = minor(st.st_rdev);
    std::string path = d.container_path().empty() ? d.host_path() : d.container_path();
    (*spec)["linux"]["devices"].push_back({{"path", path}, {"type", type}, {"major", maj},
                                           {"minor", min}, {"fileMode", st.st_mode & 0777},
                                           {"uid", 0}, {"gid", 0}});
    std::string perms = d.permissions().empty() ? "rwm" : d.permissions();
    (*spec)["linux"]["resources"]["devices"].push_back(
        {{"allow", true}, {"type", type}, {"major", maj}, {"minor", min}, {"access", perms}});
  }
  return absl::OkStatus();
}

// The profile older kubelets send instead of `seccomp`: deprecated in CRI, still honoured.
std::string LegacySeccompPath(const v1::LinuxContainerSecurityContext& sc) {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  return sc.seccomp_profile_path();
#pragma GCC diagnostic pop
}

absl::Status AddSecurity(const SpecInputs& in, json* spec) {
  const auto& sc = in.config->linux().security_context();
  bool privileged = sc.privileged();
  json& p = (*spec)["process"];
  auto caps = EffectiveCapabilities(sc.capabilities(), privileged);
  for (const char* set : {"bounding", "effective", "permitted"}) p["capabilities"][set] = caps;
  p["noNewPrivileges"] = sc.no_new_privs();
  // User: CRI's run_as_user, else the image's numeric User (names need the rootfs: see README).
  json& user = p["user"];
  user = {{"uid", 0}, {"gid", 0}};
  std::string image_user = ImageConfigString(in.image_config, "User");
  if (!image_user.empty()) {
    // Numeric parts must be uid_t / gid_t values (a longer digit string is not a user: refuse
    // it rather than run as root).
    auto numeric = [&](const std::string& part, const char* field) -> absl::Status {
      uint32_t id = 0;
      if (part.empty() || !std::all_of(part.begin(), part.end(), ::isdigit)) {
        return absl::OkStatus();
      }
      if (!absl::SimpleAtoi(part, &id)) {
        return absl::InvalidArgumentError(absl::StrCat("image user \"", image_user, "\": ", field,
                                                       " out of range"));
      }
      user[field] = id;
      return absl::OkStatus();
    };
    size_t colon = image_user.find(':');
    BERTH_RETURN_IF_ERROR(numeric(image_user.substr(0, colon), "uid"));
    if (colon != std::string::npos) {
      BERTH_RETURN_IF_ERROR(numeric(image_user.substr(colon + 1), "gid"));
    }
  }
  if (sc.has_run_as_user()) user["uid"] = sc.run_as_user().value();
  if (sc.has_run_as_group()) user["gid"] = sc.run_as_group().value();
  // User names (run_as_username, an image User "nobody") are resolved against the image's
  // /etc/passwd once its rootfs exists (CriRuntime::ResolveImageUser at CreateContainer).
  for (int64_t g : sc.supplemental_groups()) user["additionalGids"].push_back(g);
  (*spec)["root"]["readonly"] = sc.readonly_rootfs();
  if (sc.has_apparmor() && sc.apparmor().profile_type() == v1::SecurityProfile::Localhost) {
    return absl::InvalidArgumentError("AppArmor profiles are not available on this host");
  }
  if (privileged) return absl::OkStatus();  // no masks, no seccomp
  json masked = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
                 "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
                 "/proc/scsi"};
  json readonly = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  // Kubelet sends the lists it wants (procMount Default); an empty list keeps the defaults.
  if (sc.masked_paths_size() > 0) masked = json(std::vector<std::string>(sc.masked_paths().begin(), sc.masked_paths().end()));
  if (sc.readonly_paths_size() > 0) readonly = json(std::vector<std::string>(sc.readonly_paths().begin(), sc.readonly_paths().end()));
  (*spec)["linux"]["maskedPaths"] = masked;
  (*spec)["linux"]["readonlyPaths"] = readonly;
  std::string localhost;
  bool want_default = false;
  if (sc.has_seccomp()) {
    want_default = sc.seccomp().profile_type() == v1::SecurityProfile::RuntimeDefault;
    if (sc.seccomp().profile_type() == v1::SecurityProfile::Localhost) localhost = sc.seccomp().localhost_ref();
  } else if (std::string legacy = LegacySeccompPath(sc);
             legacy == "runtime/default" || legacy == "docker/default") {
    want_default = true;
  } else if (absl::StartsWith(legacy, "localhost/")) {
    localhost = legacy.substr(10);
  }
  if (want_default) (*spec)["linux"]["seccomp"] = DefaultSeccompProfile();
  if (!localhost.empty()) {
    auto text = fs::ReadFile(localhost);
    if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat("seccomp profile ", localhost, ": ", text.status().message()));
    json prof = json::parse(*text, nullptr, false);
    if (!prof.is_object()) return absl::InvalidArgumentError(absl::StrCat("seccomp profile ", localhost, " is not JSON"));
    (*spec)["linux"]["seccomp"] = prof;
  }
  return absl::OkStatus();
}

}  // namespace

std::string ImageConfigString(const json& image_config, const char* key,
                              const std::string& fallback) {
  return JsonString(ImageProcess(image_config), key, fallback);
}

std::vector<std::string> ProcessArgs(const v1::ContainerConfig& c, const json& image_config) {
  const json& ic = ImageProcess(image_config);
  std::vector<std::string> entry = Strings(ic, "Entrypoint"), cmd = Strings(ic, "Cmd");
  std::vector<std::string> args;
  if (c.command_size() > 0) {
    args.assign(c.command().begin(), c.command().end());
    args.insert(args.end(), c.args().begin(), c.args().end());
    return args;
  }
  args = entry;
  if (c.args_size() > 0) {
    args.insert(args.end(), c.args().begin(), c.args().end());
  } else {
    args.insert(args.end(), cmd.begin(), cmd.end());
  }
  return args;
}

absl::StatusOr<json> BuildSpec(const SpecInputs& in) {
  const v1::ContainerConfig& c = *in.config;
  const json& ic = ImageProcess(in.image_config);
  auto args = ProcessArgs(c, in.image_config);
  if (args.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("container ", c.metadata().name(), ": no command specified"));
  }
  std::string cwd = c.working_dir().empty() ? ImageConfigString(in.image_config, "WorkingDir", "/")
                                            : c.working_dir();
  if (cwd.empty()) cwd = "/";
  if (!absl::StartsWith(cwd, "/")) return absl::InvalidArgumentError(absl::StrCat("working dir \"", cwd, "\" is not absolute"));
  std::vector<std::string> env = Strings(ic, "Env");
  for (const auto& kv : c.envs()) env.push_back(kv.key() + "=" + kv.value());
  bool privileged = c.linux().security_context().privileged();
  json spec = {
      {"ociVersion", "1.0.2"},
      {"process", {{"terminal", c.tty()}, {"args", args}, {"env", env}, {"cwd", cwd}}},
      {"root", {{"path", "rootfs"}, {"readonly", false}}},
      {"mounts", BaseMounts(privileged)},
      {"annotations", {{"io.kubernetes.cri.container-type", "container"},
                       {"io.kubernetes.cri.container-name", c.metadata().name()},
                       {"io.kubernetes.cri.sandbox-id", in.sandbox_id}}},
      {"linux", {{"resources", LinuxResources(c.linux().resources())}}},
  };
  for (const auto& [k, v] : c.annotations()) spec["annotations"][k] = v;
  if (!in.sandbox->hostname().empty()) spec["hostname"] = in.sandbox->hostname();
  int64_t oom = c.linux().resources().oom_score_adj();
  // This host lacks CAP_SYS_RESOURCE: a value below the daemon's own would fail the create.
  if (in.restrict_oom_score_adj && oom < in.daemon_oom_score_adj) oom = in.daemon_oom_score_adj;
  spec["process"]["oomScoreAdj"] = oom;
  spec["linux"]["resources"]["devices"] = json::array({{{"allow", false}, {"access", "rwm"}}});
  if (privileged) spec["linux"]["resources"]["devices"] = json::array({{{"allow", true}, {"access", "rwm"}}});
  std::string parent = in.sandbox->linux().cgroup_parent();
  spec["linux"]["cgroupsPath"] = absl::StrCat(parent.empty() ? "/berth" : parent, "/", in.id);
  // Namespaces: the pod's by path; pid per container (CONTAINER), the host's (NODE), the
  // target container's (TARGET, ephemeral debug containers) or the pod's (POD: its infra
  // process's, which RunPodSandbox starts for such pods, cri/sandbox_infra.cc).
  const auto& nso = c.linux().security_context().namespace_options();
  json ns = json::array({{{"type", "mount"}}});
  if (nso.pid() == v1::TARGET && !in.target_pid_ns.empty()) {
    ns.push_back({{"type", "pid"}, {"path", in.target_pid_ns}});
  } else if (nso.pid() == v1::POD && !in.pod_pid_ns.empty()) {
    ns.push_back({{"type", "pid"}, {"path", in.pod_pid_ns}});
  } else if (nso.pid() != v1::NODE) {
    ns.push_back({{"type", "pid"}});
  }
  auto join = [&](const char* type, const std::string& path) {
    if (!path.empty()) ns.push_back({{"type", type}, {"path", path}});
  };
  join("network", in.pod_ns.net);
  join("ipc", in.pod_ns.ipc);
  join("uts", in.pod_ns.uts);
  spec["linux"]["namespaces"] = ns;
  // The pod's IPC and UTS sysctls are set in each container's own view of those namespaces
  // (net ones were applied to the pinned netns at RunPodSandbox, cri/netns.h).
  for (const auto& [k, v] : in.sandbox->linux().sysctls()) {
    SysctlNamespace kind = ClassifySysctl(k);
    if ((kind == SysctlNamespace::kIpc && !in.pod_ns.ipc.empty()) ||
        (kind == SysctlNamespace::kUts && !in.pod_ns.uts.empty())) {
      spec["linux"]["sysctl"][k] = v;
    }
  }
  if (!in.sandbox_files_dir.empty()) {
    bool ro = c.linux().security_context().readonly_rootfs();
    for (const char* f : {"hosts", "resolv.conf", "hostname"}) {
      spec["mounts"].push_back({{"destination", absl::StrCat("/etc/", f)}, {"type", "bind"},
                                {"source", absl::StrCat(in.sandbox_files_dir, "/", f)},
                                {"options", {"rbind", "rprivate", ro ? "ro" : "rw"}}});
    }
  }
  BERTH_RETURN_IF_ERROR(AddUserMounts(c, &spec));
  BERTH_RETURN_IF_ERROR(AddDevices(c, &spec));
  BERTH_RETURN_IF_ERROR(AddSecurity(in, &spec));
  return spec;
}

}  // namespace berth::cri
