#include "core/status_macros.h"
#include "cri/cni.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status.h"
#include "cri/json_doc.h"

namespace berth::cri {
namespace {

using json = nlohmann::json;

struct ExecResult {
  int exit_code = -1;
  std::string out;
};

// fork + execve with `input` on stdin and stdout captured; stderr goes to berthd's.
absl::StatusOr<ExecResult> Exec(const std::string& path, const std::vector<std::string>& env,
                                const std::string& input) {
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  char* argv[] = {const_cast<char*>(path.c_str()), nullptr};
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) return ErrnoStatus("pipe");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]);
    ::close(in[1]);
    return ErrnoStatus("pipe");
  }
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::execve(argv[0], argv, envp.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  if (pid < 0) {
    ::close(in[1]);
    ::close(out[0]);
    return ErrnoStatus("fork CNI plugin");
  }
  // The input is small (a config); plugins read all of stdin before writing.
  size_t off = 0;
  while (off < input.size()) {
    ssize_t w = ::write(in[1], input.data() + off, input.size() - off);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) break;
    off += static_cast<size_t>(w);
  }
  ::close(in[1]);
  ExecResult res;
  char buf[8192];
  for (;;) {
    ssize_t r = ::read(out[0], buf, sizeof(buf));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    res.out.append(buf, static_cast<size_t>(r));
  }
  ::close(out[0]);
  int ws = 0;
  while (::waitpid(pid, &ws, 0) < 0 && errno == EINTR) {
  }
  res.exit_code = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
  return res;
}

absl::StatusOr<json> RunPlugin(const std::string& command, const CniNetwork& net, size_t i,
                               const std::string& bin_dir, const CniAttachment& att,
                               const json& prev) {
  std::string type = JsonString(net.plugins[i], "type");
  std::string path = bin_dir + "/" + type;
  if (type.empty() || absl::StrContains(type, "/") || ::access(path.c_str(), X_OK) != 0) {
    return absl::NotFoundError(absl::StrCat("CNI plugin \"", type, "\" not found in ", bin_dir));
  }
  json conf = CniPluginConfig(net, i, att, prev);
  std::vector<std::string> env = {
      "CNI_COMMAND=" + command,       "CNI_CONTAINERID=" + att.container_id,
      "CNI_NETNS=" + att.netns,       "CNI_IFNAME=" + att.ifname,
      "CNI_PATH=" + bin_dir,          "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
  };
  BERTH_ASSIGN_OR_RETURN(ExecResult res, Exec(path, env, conf.dump()));
  return CniPluginResult(command, type, net.name, res.exit_code, res.out);
}

}  // namespace

absl::StatusOr<json> CniPluginResult(const std::string& command, const std::string& type,
                                     const std::string& network, int exit_code,
                                     const std::string& out_text) {
  json out = ParseJsonDocument(out_text);
  if (exit_code != 0) {
    std::string msg = JsonString(out, "msg", out_text);
    std::string details = JsonString(out, "details");
    return absl::InternalError(absl::StrCat("CNI ", command, " ", type, " (network ", network,
                                            ") failed with exit ", exit_code, ": ", msg,
                                            details.empty() ? "" : ": ", details));
  }
  if (command != "ADD") return json();
  // A result is an object (CNI spec 1.0, "Success"); the sandbox record adds keys to it.
  if (!out.is_object()) {
    return absl::InternalError(absl::StrCat("CNI plugin ", type, " did not return a JSON object"));
  }
  return out;
}

absl::StatusOr<CniNetwork> ParseCniConfig(const std::string& file, const std::string& text) {
  json j = ParseJsonDocument(text);
  if (!j.is_object()) {
    return absl::InvalidArgumentError(absl::StrCat("CNI config ", file, " is not a JSON object"));
  }
  CniNetwork net;
  net.file = file;
  net.name = JsonString(j, "name");
  net.cni_version = JsonString(j, "cniVersion");
  if (j.contains("disableCheck") && j["disableCheck"].is_boolean()) net.disable_check = j["disableCheck"];
  if (j.contains("plugins")) {
    if (!j["plugins"].is_array() || j["plugins"].empty()) {
      return absl::InvalidArgumentError(absl::StrCat("CNI config list ", file, " has no plugins"));
    }
    for (const auto& p : j["plugins"]) net.plugins.push_back(p);
  } else {
    net.plugins.push_back(j);
  }
  if (net.name.empty()) return absl::InvalidArgumentError(absl::StrCat("CNI config ", file, " has no name"));
  for (const auto& p : net.plugins) {
    if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
      return absl::InvalidArgumentError(absl::StrCat("CNI config ", file, ": a plugin has no type"));
    }
  }
  return net;
}

absl::StatusOr<CniNetwork> LoadCniNetwork(const std::string& conf_dir) {
  std::vector<std::string> names;
  if (DIR* d = ::opendir(conf_dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (absl::EndsWith(n, ".conf") || absl::EndsWith(n, ".conflist") || absl::EndsWith(n, ".json")) {
        names.push_back(n);
      }
    }
    ::closedir(d);
  }
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto text = fs::ReadFile(conf_dir + "/" + n);
    if (!text.ok()) continue;
    auto net = ParseCniConfig(conf_dir + "/" + n, *text);
    if (net.ok()) return net;  // an invalid file is skipped, as libcni's loader does
  }
  return absl::FailedPreconditionError(absl::StrCat("no network config found in ", conf_dir));
}

json CniPluginConfig(const CniNetwork& net, size_t i, const CniAttachment& att, const json& prev) {
  json conf = net.plugins[i];
  conf["name"] = net.name;
  conf["cniVersion"] =
      net.cni_version.empty() ? JsonString(conf, "cniVersion", "1.0.0") : net.cni_version;
  if (!prev.is_null()) conf["prevResult"] = prev;
  // Capabilities: runtimeConfig carries only what the plugin declared it wants (CNI conventions).
  auto caps = conf.find("capabilities");
  if (caps != conf.end() && caps->is_object() && caps->contains("portMappings") &&
      (*caps)["portMappings"] == true) {
    json pm = json::array();
    for (const auto& m : att.port_mappings) {
      json e = {{"hostPort", m.host_port}, {"containerPort", m.container_port},
                {"protocol", m.protocol}};
      if (!m.host_ip.empty()) e["hostIP"] = m.host_ip;
      pm.push_back(e);
    }
    if (!conf["runtimeConfig"].is_object()) conf["runtimeConfig"] = json::object();
    conf["runtimeConfig"]["portMappings"] = pm;
  }
  return conf;
}

absl::StatusOr<json> CniAdd(const CniNetwork& net, const std::string& bin_dir,
                            const CniAttachment& att) {
  json prev;
  for (size_t i = 0; i < net.plugins.size(); ++i) {
    auto res = RunPlugin("ADD", net, i, bin_dir, att, prev);
    if (!res.ok()) {
      CniDel(net, bin_dir, att, prev).IgnoreError();
      return res.status();
    }
    prev = std::move(*res);
  }
  return prev;
}

absl::Status CniDel(const CniNetwork& net, const std::string& bin_dir, const CniAttachment& att,
                    const json& prev) {
  absl::Status first;
  for (size_t i = net.plugins.size(); i-- > 0;) {
    auto res = RunPlugin("DEL", net, i, bin_dir, att, prev);
    if (!res.ok() && first.ok()) first = res.status();
  }
  return first;
}

absl::Status CniCheck(const CniNetwork& net, const std::string& bin_dir, const CniAttachment& att,
                      const json& prev) {
  // Versions before 0.4.0 ("0.1.0".."0.3.1") have no CHECK; plain string order is enough there.
  if (net.disable_check || (!net.cni_version.empty() && net.cni_version < "0.4.0")) {
    return absl::OkStatus();
  }
  for (size_t i = 0; i < net.plugins.size(); ++i) {
    BERTH_RETURN_IF_ERROR(RunPlugin("CHECK", net, i, bin_dir, att, prev).status());
  }
  return absl::OkStatus();
}

std::vector<std::string> CniResultIps(const json& result) {
  std::vector<std::string> v4, v6;
  if (!result.is_object() || !result.contains("ips") || !result["ips"].is_array()) return {};
  for (const auto& ip : result["ips"]) {
    std::string a = JsonString(ip, "address");
    a = a.substr(0, a.find('/'));
    if (a.empty()) continue;
    (absl::StrContains(a, ":") ? v6 : v4).push_back(a);
  }
  v4.insert(v4.end(), v6.begin(), v6.end());
  return v4;
}

}  // namespace berth::cri
