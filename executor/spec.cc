#include "executor/spec.h"

#include <sys/capability.h>
#include <sys/resource.h>

#include <cctype>
#include <limits>
#include <stdexcept>
#include <type_traits>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"
#include "nlohmann/json.hpp"

namespace berth::executor {
namespace {

using nlohmann::json;

// Every accessor below may throw (nlohmann::json's exceptions, or the std ones of As); ParseSpec
// catches them at the edge.

// v as T. For integers, nlohmann converts with a plain cast: a float outside T's range (a
// "period" of 1e20) is undefined behaviour, and an integer outside it wraps silently.
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};

template <typename T>
T As(const json& v) {
  if constexpr (IsVector<T>::value) {
    if (!v.is_array()) throw std::invalid_argument(absl::StrCat("expected an array: ", v.dump()));
    T out;
    for (const json& e : v) out.push_back(As<typename T::value_type>(e));
    return out;
  } else if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>) {
    using Limits = std::numeric_limits<T>;
    if (v.is_number_unsigned()) {
      uint64_t u = v.get<uint64_t>();
      if (u <= static_cast<uint64_t>(Limits::max())) return static_cast<T>(u);
    } else if (v.is_number_integer()) {
      int64_t i = v.get<int64_t>();
      if (i >= static_cast<int64_t>(Limits::min()) &&
          (i < 0 || static_cast<uint64_t>(i) <= static_cast<uint64_t>(Limits::max()))) {
        return static_cast<T>(i);
      }
    } else {
      throw std::invalid_argument(absl::StrCat("expected an integer, got ", v.type_name(), " ",
                                               v.dump()));
    }
    throw std::out_of_range(absl::StrCat("integer out of range: ", v.dump()));
  } else {
    return v.get<T>();
  }
}
template <typename T>
void Opt(const json& j, const char* key, std::optional<T>& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) out = As<T>(*it);
}
template <typename T>
void Get(const json& j, const char* key, T& out) {
  if (auto it = j.find(key); it != j.end() && !it->is_null()) out = As<T>(*it);
}

int RlimitFromName(const std::string& name) {
  static const std::map<std::string, int> kNames = {
      {"RLIMIT_AS", RLIMIT_AS},         {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},       {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},   {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK}, {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},     {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},   {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO}, {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING}, {"RLIMIT_STACK", RLIMIT_STACK},
  };
  auto it = kNames.find(name);
  return it == kNames.end() ? -1 : it->second;
}

uint64_t CapMask(const json& j, const char* key) {
  uint64_t mask = 0;
  if (auto it = j.find(key); it != j.end() && it->is_array()) {
    for (const auto& name : *it) {
      int cap = CapabilityFromName(name.get<std::string>());
      if (cap >= 0 && cap < 64) mask |= uint64_t{1} << cap;
    }
  }
  return mask;
}

Process ProcessFromJson(const json& j) {
  Process p;
  Get(j, "terminal", p.terminal);
  if (auto it = j.find("consoleSize"); it != j.end() && it->is_object()) {
    Get(*it, "height", p.console_height);
    Get(*it, "width", p.console_width);
  }
  if (auto it = j.find("user"); it != j.end() && it->is_object()) {
    Get(*it, "uid", p.user.uid);
    Get(*it, "gid", p.user.gid);
    Opt(*it, "umask", p.user.umask);
    Get(*it, "additionalGids", p.user.additional_gids);
  }
  Get(j, "args", p.args);
  Get(j, "env", p.env);
  Get(j, "cwd", p.cwd);
  if (p.cwd.empty()) p.cwd = "/";
  if (auto it = j.find("capabilities"); it != j.end() && it->is_object()) {
    Capabilities c;
    c.bounding = CapMask(*it, "bounding");
    c.effective = CapMask(*it, "effective");
    c.inheritable = CapMask(*it, "inheritable");
    c.permitted = CapMask(*it, "permitted");
    c.ambient = CapMask(*it, "ambient");
    p.capabilities = c;
  }
  if (auto it = j.find("rlimits"); it != j.end() && it->is_array()) {
    for (const auto& r : *it) {
      Rlimit rl;
      rl.resource = RlimitFromName(r.at("type").get<std::string>());
      if (rl.resource < 0) {
        throw std::invalid_argument("unknown rlimit " + r.at("type").get<std::string>());
      }
      Get(r, "soft", rl.soft);
      Get(r, "hard", rl.hard);
      p.rlimits.push_back(rl);
    }
  }
  Get(j, "noNewPrivileges", p.no_new_privileges);
  Opt(j, "oomScoreAdj", p.oom_score_adj);
  return p;
}

Resources ResourcesFromJson(const json& j) {
  Resources r;
  if (auto it = j.find("devices"); it != j.end() && it->is_array()) {
    for (const auto& d : *it) {
      DeviceRule rule;
      Get(d, "allow", rule.allow);
      Get(d, "type", rule.type);
      if (rule.type.empty()) rule.type = "a";
      Opt(d, "major", rule.major);
      Opt(d, "minor", rule.minor);
      Get(d, "access", rule.access);
      r.devices.push_back(rule);
    }
  }
  if (auto it = j.find("memory"); it != j.end() && it->is_object()) {
    Opt(*it, "limit", r.memory.limit);
    Opt(*it, "reservation", r.memory.reservation);
    Opt(*it, "swap", r.memory.swap);
    Opt(*it, "kernel", r.memory.kernel);
    Opt(*it, "kernelTCP", r.memory.kernel_tcp);
    Opt(*it, "swappiness", r.memory.swappiness);
    Opt(*it, "disableOOMKiller", r.memory.disable_oom_killer);
  }
  if (auto it = j.find("cpu"); it != j.end() && it->is_object()) {
    Opt(*it, "shares", r.cpu.shares);
    Opt(*it, "quota", r.cpu.quota);
    Opt(*it, "period", r.cpu.period);
    Opt(*it, "realtimeRuntime", r.cpu.realtime_runtime);
    Opt(*it, "realtimePeriod", r.cpu.realtime_period);
    Get(*it, "cpus", r.cpu.cpus);
    Get(*it, "mems", r.cpu.mems);
  }
  if (auto it = j.find("pids"); it != j.end() && it->is_object()) Opt(*it, "limit", r.pids_limit);
  if (auto it = j.find("blockIO"); it != j.end() && it->is_object()) {
    Opt(*it, "weight", r.blkio_weight);
  }
  Get(j, "unified", r.unified);
  return r;
}

std::vector<Hook> HooksFromJson(const json& j, const char* key) {
  std::vector<Hook> out;
  if (auto it = j.find(key); it != j.end() && it->is_array()) {
    for (const auto& h : *it) {
      Hook hook;
      hook.path = h.at("path").get<std::string>();
      Get(h, "args", hook.args);
      Get(h, "env", hook.env);
      Opt(h, "timeout", hook.timeout);
      out.push_back(std::move(hook));
    }
  }
  return out;
}

Seccomp SeccompFromJson(const json& j) {
  Seccomp s;
  Get(j, "defaultAction", s.default_action);
  Opt(j, "defaultErrnoRet", s.default_errno_ret);
  Get(j, "architectures", s.architectures);
  Get(j, "flags", s.flags);
  if (auto it = j.find("syscalls"); it != j.end() && it->is_array()) {
    for (const auto& sc : *it) {
      SeccompSyscall call;
      Get(sc, "names", call.names);
      Get(sc, "action", call.action);
      Opt(sc, "errnoRet", call.errno_ret);
      if (auto a = sc.find("args"); a != sc.end() && a->is_array()) {
        for (const auto& arg : *a) {
          SeccompArg sa;
          Get(arg, "index", sa.index);
          Get(arg, "value", sa.value);
          Get(arg, "valueTwo", sa.value_two);
          Get(arg, "op", sa.op);
          call.args.push_back(sa);
        }
      }
      s.syscalls.push_back(std::move(call));
    }
  }
  return s;
}

void LinuxFromJson(const json& j, Linux& l) {
  if (auto it = j.find("namespaces"); it != j.end() && it->is_array()) {
    for (const auto& n : *it) {
      Namespace ns;
      ns.type = n.at("type").get<std::string>();
      Get(n, "path", ns.path);
      l.namespaces.push_back(ns);
    }
  }
  for (auto [key, out] : {std::pair{"uidMappings", &l.uid_mappings},
                          std::pair{"gidMappings", &l.gid_mappings}}) {
    if (auto it = j.find(key); it != j.end() && it->is_array()) {
      for (const auto& m : *it) {
        out->push_back({As<uint32_t>(m.at("containerID")), As<uint32_t>(m.at("hostID")),
                        As<uint32_t>(m.at("size"))});
      }
    }
  }
  if (auto it = j.find("devices"); it != j.end() && it->is_array()) {
    for (const auto& d : *it) {
      Device dev;
      dev.path = d.at("path").get<std::string>();
      std::string type = d.at("type").get<std::string>();
      dev.type = type.empty() ? 'c' : type[0];
      Get(d, "major", dev.major);
      Get(d, "minor", dev.minor);
      Opt(d, "fileMode", dev.file_mode);
      Opt(d, "uid", dev.uid);
      Opt(d, "gid", dev.gid);
      l.devices.push_back(dev);
    }
  }
  Get(j, "cgroupsPath", l.cgroups_path);
  if (auto it = j.find("resources"); it != j.end() && it->is_object()) {
    l.resources = ResourcesFromJson(*it);
  }
  Get(j, "rootfsPropagation", l.rootfs_propagation);
  Get(j, "maskedPaths", l.masked_paths);
  Get(j, "readonlyPaths", l.readonly_paths);
  Get(j, "sysctl", l.sysctl);
  if (auto it = j.find("seccomp"); it != j.end() && it->is_object()) {
    l.seccomp = SeccompFromJson(*it);
  }
}

template <typename T, typename F>
absl::StatusOr<T> Guard(absl::string_view what, absl::string_view text, F f) {
  try {
    json j = json::parse(text);
    if (!j.is_object()) return absl::InvalidArgumentError(absl::StrCat(what, ": not an object"));
    return f(j);
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", e.what()));
  }
}

}  // namespace

bool Linux::HasNamespace(absl::string_view type) const { return FindNamespace(type) != nullptr; }

const Namespace* Linux::FindNamespace(absl::string_view type) const {
  for (const auto& ns : namespaces) {
    if (ns.type == type) return &ns;
  }
  return nullptr;
}

int CapabilityFromName(absl::string_view name) {
  cap_value_t value;
  std::string lower = absl::AsciiStrToLower(name);
  if (cap_from_name(lower.c_str(), &value) != 0) return -1;
  return value;
}

absl::StatusOr<Spec> ParseSpec(absl::string_view text) {
  return Guard<Spec>("config.json", text, [](const json& j) {
    Spec s;
    Get(j, "ociVersion", s.oci_version);
    if (auto it = j.find("root"); it != j.end() && it->is_object()) {
      Get(*it, "path", s.root_path);
      Get(*it, "readonly", s.root_readonly);
    }
    Get(j, "hostname", s.hostname);
    Get(j, "domainname", s.domainname);
    if (auto it = j.find("process"); it != j.end() && it->is_object()) {
      s.process = ProcessFromJson(*it);
    }
    if (auto it = j.find("mounts"); it != j.end() && it->is_array()) {
      for (const auto& m : *it) {
        Mount mount;
        mount.destination = m.at("destination").get<std::string>();
        Get(m, "type", mount.type);
        Get(m, "source", mount.source);
        Get(m, "options", mount.options);
        s.mounts.push_back(std::move(mount));
      }
    }
    if (auto it = j.find("hooks"); it != j.end() && it->is_object()) {
      s.hooks.prestart = HooksFromJson(*it, "prestart");
      s.hooks.create_runtime = HooksFromJson(*it, "createRuntime");
      s.hooks.create_container = HooksFromJson(*it, "createContainer");
      s.hooks.start_container = HooksFromJson(*it, "startContainer");
      s.hooks.poststart = HooksFromJson(*it, "poststart");
      s.hooks.poststop = HooksFromJson(*it, "poststop");
    }
    Get(j, "annotations", s.annotations);
    if (auto it = j.find("linux"); it != j.end() && it->is_object()) LinuxFromJson(*it, s.linux);
    return s;
  });
}

absl::StatusOr<Process> ParseProcess(absl::string_view text) {
  return Guard<Process>("process", text, [](const json& j) { return ProcessFromJson(j); });
}

absl::StatusOr<Resources> ParseResources(absl::string_view text) {
  return Guard<Resources>("resources", text, [](const json& j) { return ResourcesFromJson(j); });
}

absl::StatusOr<Spec> LoadSpec(const std::string& bundle) {
  auto text = fs::ReadFile(bundle + "/config.json");
  if (!text.ok()) return Annotate(text.status(), "load bundle " + bundle);
  return ParseSpec(*text);
}

}  // namespace berth::executor
