#include "cri/config.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "core/toml_reader.h"

namespace berth::cri {
namespace {

constexpr char kWhere[] = "[plugins.\"io.containerd.grpc.v1.cri\"]";

// Handler options are each shim's business (runc's BinaryName, SystemdCgroup, ...): keep scalar
// values as text so they show in `config default` and introspection.
void ReadOptions(const toml::table& t, std::map<std::string, std::string>* out) {
  for (const auto& [k, v] : t) {
    if (auto s = v.value<std::string>()) {
      (*out)[std::string(k.str())] = *s;
    } else if (auto b = v.value<bool>()) {
      (*out)[std::string(k.str())] = *b ? "true" : "false";
    } else if (auto i = v.value<int64_t>()) {
      (*out)[std::string(k.str())] = absl::StrCat(*i);
    }
  }
}

absl::Status ReadContainerd(const toml::table* t, CriConfig* cfg) {
  std::string where = absl::StrCat(kWhere, ".containerd");
  TomlReader r(t, where);
  r.String("snapshotter", &cfg->snapshotter);
  r.String("default_runtime_name", &cfg->default_runtime_name);
  if (const toml::table* runtimes = r.Table("runtimes")) {
    for (const auto& [name, node] : *runtimes) {
      const toml::table* rt = node.as_table();
      std::string h(name.str());
      if (rt == nullptr) return absl::InvalidArgumentError(absl::StrCat(where, ".runtimes.", h, " must be a table"));
      RuntimeHandler handler;
      TomlReader rr(rt, absl::StrCat(where, ".runtimes.", h));
      rr.String("runtime_type", &handler.runtime_type);
      rr.String("sandbox_mode", &handler.sandbox_mode);
      if (const toml::table* opts = rr.Table("options")) ReadOptions(*opts, &handler.options);
      BERTH_RETURN_IF_ERROR(rr.Finish());
      cfg->runtimes[h] = std::move(handler);
    }
  }
  return r.Finish();
}

}  // namespace

absl::StatusOr<CriConfig> CriConfig::FromToml(const toml::table* section) {
  CriConfig cfg;
  TomlReader r(section, kWhere);
  r.String("sandbox_image", &cfg.sandbox_image);
  r.String("stream_server_address", &cfg.stream_server_address);
  r.String("stream_server_port", &cfg.stream_server_port);
  r.String("stream_idle_timeout", &cfg.stream_idle_timeout);
  r.Bool("enable_tls_streaming", &cfg.enable_tls_streaming);
  if (const toml::table* c = r.Table("x509_key_pair_streaming")) {
    TomlReader xr(c, absl::StrCat(kWhere, ".x509_key_pair_streaming"));
    xr.String("tls_cert_file", &cfg.tls_cert_file);
    xr.String("tls_key_file", &cfg.tls_key_file);
    BERTH_RETURN_IF_ERROR(xr.Finish());
  }
  r.Bool("restrict_oom_score_adj", &cfg.restrict_oom_score_adj);
  r.Int("max_container_log_line_size", &cfg.max_container_log_line_size);
  r.Bool("enable_selinux", &cfg.enable_selinux);
  if (const toml::table* c = r.Table("containerd")) BERTH_RETURN_IF_ERROR(ReadContainerd(c, &cfg));
  if (const toml::table* c = r.Table("cni")) {
    TomlReader cr(c, absl::StrCat(kWhere, ".cni"));
    cr.String("bin_dir", &cfg.cni_bin_dir);
    cr.String("conf_dir", &cfg.cni_conf_dir);
    cr.Int("max_conf_num", &cfg.cni_max_conf_num);
    BERTH_RETURN_IF_ERROR(cr.Finish());
  }
  if (const toml::table* c = r.Table("registry")) {
    TomlReader rr(c, absl::StrCat(kWhere, ".registry"));
    rr.String("config_path", &cfg.registry_config_path);
    BERTH_RETURN_IF_ERROR(rr.Finish());
  }
  BERTH_RETURN_IF_ERROR(r.Finish());
  return cfg;
}

absl::Status CriConfig::Validate() const {
  if (!runtimes.count(default_runtime_name)) {
    return absl::InvalidArgumentError(absl::StrCat(
        kWhere, ": default_runtime_name \"", default_runtime_name, "\" has no runtimes entry"));
  }
  for (const auto& [name, h] : runtimes) {
    if (h.runtime_type.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat(kWhere, ": runtime \"", name, "\" needs a runtime_type"));
    }
    if (h.sandbox_mode != kSandboxPauseless && h.sandbox_mode != kSandboxPod) {
      return absl::InvalidArgumentError(absl::StrCat(kWhere, ": runtime \"", name,
                                                     "\": sandbox_mode \"", h.sandbox_mode,
                                                     "\" is not \"pauseless\" or \"podsandbox\""));
    }
  }
  if (max_container_log_line_size == 0 || max_container_log_line_size < -1) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": max_container_log_line_size must be -1 (no limit) or positive"));
  }
  int port = 0;
  if (!absl::SimpleAtoi(stream_server_port, &port) || port < 0 || port > 65535) {
    return absl::InvalidArgumentError(
        absl::StrCat(kWhere, ": stream_server_port \"", stream_server_port, "\" is not a port"));
  }
  BERTH_RETURN_IF_ERROR(StreamIdleTimeout().status());
  if (enable_tls_streaming) {
    return absl::UnimplementedError(absl::StrCat(
        kWhere, ": enable_tls_streaming = true is not supported yet (the streaming server "
                "serves plain HTTP; keep stream_server_address on loopback)"));
  }
  if (cni_max_conf_num < 0) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": cni.max_conf_num must be >= 0"));
  }
  return absl::OkStatus();
}

toml::table CriConfig::ToToml() const {
  toml::table rts;
  for (const auto& [name, h] : runtimes) {
    toml::table opts;
    for (const auto& [k, v] : h.options) opts.insert(k, v);
    rts.insert(name, toml::table{{"runtime_type", h.runtime_type},
                                 {"sandbox_mode", h.sandbox_mode},
                                 {"options", opts}});
  }
  return toml::table{
      {"sandbox_image", sandbox_image},
      {"stream_server_address", stream_server_address},
      {"stream_server_port", stream_server_port},
      {"stream_idle_timeout", stream_idle_timeout},
      {"enable_tls_streaming", enable_tls_streaming},
      {"x509_key_pair_streaming", toml::table{{"tls_cert_file", tls_cert_file},
                                              {"tls_key_file", tls_key_file}}},
      {"restrict_oom_score_adj", restrict_oom_score_adj},
      {"max_container_log_line_size", max_container_log_line_size},
      {"enable_selinux", enable_selinux},
      {"containerd", toml::table{{"snapshotter", snapshotter},
                                 {"default_runtime_name", default_runtime_name},
                                 {"runtimes", rts}}},
      {"cni", toml::table{{"bin_dir", cni_bin_dir},
                          {"conf_dir", cni_conf_dir},
                          {"max_conf_num", cni_max_conf_num}}},
      {"registry", toml::table{{"config_path", registry_config_path}}},
  };
}

absl::StatusOr<std::string> CriConfig::RuntimeFor(const std::string& handler) const {
  auto it = runtimes.find(handler.empty() ? default_runtime_name : handler);
  if (it == runtimes.end()) {
    return absl::NotFoundError(absl::StrCat("no runtime for \"", handler, "\" is configured"));
  }
  return it->second.runtime_type;
}

absl::StatusOr<bool> CriConfig::UsesPauseContainer(const std::string& handler) const {
  auto it = runtimes.find(handler.empty() ? default_runtime_name : handler);
  if (it == runtimes.end()) {
    return absl::NotFoundError(absl::StrCat("no runtime for \"", handler, "\" is configured"));
  }
  return it->second.sandbox_mode == kSandboxPod;
}

absl::StatusOr<absl::Duration> CriConfig::StreamIdleTimeout() const {
  if (stream_idle_timeout.empty()) return absl::ZeroDuration();
  absl::Duration d;
  // absl's duration syntax is Go's (time.ParseDuration): "4h0m0s", "1.5h", "300ms".
  if (!absl::ParseDuration(stream_idle_timeout, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(kWhere, ": stream_idle_timeout \"",
                                                   stream_idle_timeout,
                                                   "\" is not a duration like \"4h0m0s\""));
  }
  return d;
}

}  // namespace berth::cri
