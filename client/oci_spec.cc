#include "client/oci_spec.h"

#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace berth::client {
namespace {

using json = nlohmann::json;

json Mount(const char* dst, const char* type, const char* src,
           std::initializer_list<const char*> opts) {
  json options = json::array();
  for (const char* o : opts) options.push_back(o);
  return {{"destination", dst}, {"type", type}, {"source", src}, {"options", options}};
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object()) return out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::string String(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// Finds `name` (or numeric id) in a passwd/group style file: returns the fields of the line.
std::vector<std::string> FindEntry(const std::string& file, const std::string& name,
                                   size_t id_field) {
  for (absl::string_view line : absl::StrSplit(file, '\n', absl::SkipEmpty())) {
    std::vector<std::string> f = absl::StrSplit(line, ':');
    if (f.size() <= id_field) continue;
    if (f[0] == name || f[id_field] == name) return f;
  }
  return {};
}

absl::StatusOr<uint32_t> LookupId(const std::string& name, const char* file, size_t id_field,
                                  const RootfsReader& rootfs) {
  uint32_t id;
  if (absl::SimpleAtoi(name, &id)) return id;
  if (!rootfs) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve \"", name, "\" without ", file,
                                                   ": use a numeric id"));
  }
  absl::StatusOr<std::string> content = rootfs(file);
  if (!content.ok()) {
    return absl::NotFoundError(absl::StrCat("no ", file, " in the image to resolve \"", name,
                                            "\": ", content.status().message()));
  }
  std::vector<std::string> f = FindEntry(*content, name, id_field);
  if (f.empty() || !absl::SimpleAtoi(f[id_field], &id)) {
    return absl::NotFoundError(absl::StrCat("\"", name, "\" not found in ", file));
  }
  return id;
}

}  // namespace

json DefaultSpec(const std::string& ns, const std::string& id) {
  json caps = json::array({"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER",
                           "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID", "CAP_SETUID", "CAP_SETFCAP",
                           "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL",
                           "CAP_AUDIT_WRITE"});
  json spec;
  spec["ociVersion"] = "1.0.2-dev";
  spec["root"] = {{"path", "rootfs"}};
  spec["process"] = {
      {"cwd", "/"},
      {"noNewPrivileges", true},
      {"user", {{"uid", 0}, {"gid", 0}}},
      {"env", json::array()},
      {"args", json::array()},
      {"capabilities", {{"bounding", caps}, {"permitted", caps}, {"effective", caps}}},
      {"rlimits", json::array({{{"type", "RLIMIT_NOFILE"}, {"hard", 1024}, {"soft", 1024}}})},
  };
  spec["mounts"] = json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}),
      Mount("/run", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      // Not in containerd's defaults but in docker's: lets a process see its own cgroup.
      Mount("/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", "ro"}),
  });
  spec["linux"] = {
      {"maskedPaths",
       {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
        "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware",
        "/proc/scsi"}},
      {"readonlyPaths",
       {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}},
      {"cgroupsPath", absl::StrCat("/", ns, "/", id)},
      {"resources", {{"devices", json::array({{{"allow", false}, {"access", "rwm"}}})}}},
      {"namespaces", json::array({{{"type", "pid"}},
                                  {{"type", "ipc"}},
                                  {{"type", "uts"}},
                                  {{"type", "mount"}},
                                  {{"type", "network"}}})},
  };
  return spec;
}

std::vector<std::string> ReplaceOrAppendEnv(const std::vector<std::string>& defaults,
                                            const std::vector<std::string>& overrides) {
  std::vector<std::string> out = defaults;
  auto key_of = [](const std::string& e) { return e.substr(0, e.find('=')); };
  auto find = [&](const std::string& key) {
    for (size_t i = 0; i < out.size(); ++i) {
      if (key_of(out[i]) == key) return static_cast<ptrdiff_t>(i);
    }
    return static_cast<ptrdiff_t>(-1);
  };
  for (const auto& e : overrides) {
    ptrdiff_t i = find(key_of(e));
    if (e.find('=') == std::string::npos) {
      if (i >= 0) out.erase(out.begin() + i);
    } else if (i >= 0) {
      out[static_cast<size_t>(i)] = e;
    } else {
      out.push_back(e);
    }
  }
  return out;
}

absl::Status ApplyUser(const std::string& user, const RootfsReader& rootfs, json* spec) {
  std::vector<std::string> parts = absl::StrSplit(user, absl::MaxSplits(':', 1));
  absl::StatusOr<uint32_t> uid = LookupId(parts[0], "/etc/passwd", 2, rootfs);
  if (!uid.ok()) return uid.status();
  uint32_t gid = 0;
  if (parts.size() == 2) {
    absl::StatusOr<uint32_t> g = LookupId(parts[1], "/etc/group", 2, rootfs);
    if (!g.ok()) return g.status();
    gid = *g;
  } else if (rootfs) {
    // Primary group from passwd, when the image has one that lists this user.
    if (absl::StatusOr<std::string> pw = rootfs("/etc/passwd"); pw.ok()) {
      std::vector<std::string> f = FindEntry(*pw, std::to_string(*uid), 2);
      if (f.size() > 3 && !absl::SimpleAtoi(f[3], &gid)) gid = 0;  // not a number: root group
    }
  }
  (*spec)["process"]["user"] = {{"uid", *uid}, {"gid", gid}};
  return absl::OkStatus();
}

absl::Status ApplyImageConfig(const json& image_config, const std::vector<std::string>& args,
                              const RootfsReader& rootfs, json* spec) {
  const json config = image_config.is_object() ? image_config.value("config", json::object())
                                               : json::object();
  std::vector<std::string> defaults = Strings(config, "Env");
  if (defaults.empty()) defaults.push_back(kDefaultPathEnv);
  json& process = (*spec)["process"];
  process["env"] = ReplaceOrAppendEnv(defaults, Strings(process, "env"));
  std::vector<std::string> full = Strings(config, "Entrypoint");
  std::vector<std::string> cmd = args.empty() ? Strings(config, "Cmd") : args;
  full.insert(full.end(), cmd.begin(), cmd.end());
  if (full.empty()) {
    return absl::InvalidArgumentError("no command: the image has no Entrypoint or Cmd");
  }
  process["args"] = full;
  std::string cwd = String(config, "WorkingDir");
  process["cwd"] = cwd.empty() ? "/" : cwd;
  std::string user = String(config, "User");
  if (!user.empty()) return ApplyUser(user, rootfs, spec);
  return absl::OkStatus();
}

absl::StatusOr<json> GenerateSpec(const std::string& ns, const std::string& id,
                                  const json& image_config, const SpecOptions& o,
                                  const RootfsReader& rootfs) {
  json spec = DefaultSpec(ns, id);
  if (absl::Status s = ApplyImageConfig(image_config, o.args, rootfs, &spec); !s.ok()) return s;
  json& process = spec["process"];
  std::vector<std::string> env = o.env;
  if (o.terminal) env.insert(env.begin(), "TERM=xterm");  // oci.WithTTY
  process["env"] = ReplaceOrAppendEnv(Strings(process, "env"), env);
  process["terminal"] = o.terminal;
  if (!o.cwd.empty()) process["cwd"] = o.cwd;
  if (!o.user.empty()) {
    if (absl::Status s = ApplyUser(o.user, rootfs, &spec); !s.ok()) return s;
  }
  if (!o.hostname.empty()) spec["hostname"] = o.hostname;
  if (o.read_only) spec["root"]["readonly"] = true;
  for (const auto& m : o.mounts) {
    spec["mounts"].push_back({{"destination", m.destination},
                              {"type", "bind"},
                              {"source", m.source},
                              {"options", {"rbind", "rprivate", m.read_only ? "ro" : "rw"}}});
  }
  if (o.net == NetworkMode::kHost) {
    json& nss = spec["linux"]["namespaces"];
    for (size_t i = 0; i < nss.size(); ++i) {
      if (nss[i].value("type", "") == "network") {
        nss.erase(i);
        break;
      }
    }
    // The host's name resolution, as ctr --net-host does (WithHostHostsFile/Resolvconf).
    for (const char* f : {"/etc/hosts", "/etc/resolv.conf"}) {
      spec["mounts"].push_back(
          {{"destination", f}, {"type", "bind"}, {"source", f}, {"options", {"rbind", "ro"}}});
    }
  }
  json& resources = spec["linux"]["resources"];
  if (o.memory_bytes > 0) resources["memory"] = {{"limit", o.memory_bytes}};
  if (o.cpus > 0) {
    constexpr int64_t kPeriod = 100000;
    resources["cpu"] = {{"period", kPeriod},
                        {"quota", static_cast<int64_t>(std::llround(o.cpus * kPeriod))}};
  }
  return spec;
}

json ExecProcessSpec(const json& container_spec, const std::vector<std::string>& args,
                     bool terminal, const std::vector<std::string>& env) {
  json process = container_spec.is_object() ? container_spec.value("process", json::object())
                                            : json::object();
  process["args"] = args;
  process["terminal"] = terminal;
  std::vector<std::string> extra = env;
  if (terminal) extra.insert(extra.begin(), "TERM=xterm");
  process["env"] = ReplaceOrAppendEnv(Strings(process, "env"), extra);
  return process;
}

absl::StatusOr<int64_t> ParseMemory(absl::string_view text) {
  std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(text));
  if (!t.empty() && t.back() == 'b') t.pop_back();
  int64_t mult = 1;
  if (!t.empty()) {
    switch (t.back()) {
      case 'k': mult = int64_t{1} << 10; break;
      case 'm': mult = int64_t{1} << 20; break;
      case 'g': mult = int64_t{1} << 30; break;
      case 't': mult = int64_t{1} << 40; break;
      default: mult = 0;
    }
    if (mult != 0) t.pop_back(); else mult = 1;
  }
  int64_t n;
  if (t.empty() || !absl::SimpleAtoi(t, &n) || n <= 0 || n > (INT64_MAX / mult)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid memory size \"", text, "\" (examples: 512m, 1g, 1048576)"));
  }
  return n * mult;
}

absl::StatusOr<BindMount> ParseVolume(absl::string_view text) {
  std::vector<std::string> p = absl::StrSplit(text, ':');
  BindMount m;
  if (p.size() == 3) {
    if (p[2] != "ro" && p[2] != "rw") {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid volume \"", text, "\": mode must be ro or rw"));
    }
    m.read_only = p[2] == "ro";
  }
  if ((p.size() != 2 && p.size() != 3) || p[0].empty() || p[1].empty() || p[0][0] != '/' ||
      p[1][0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat(
        "invalid volume \"", text, "\": want /host/path:/container/path[:ro]"));
  }
  m.source = p[0];
  m.destination = p[1];
  return m;
}

}  // namespace berth::client
