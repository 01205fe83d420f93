#include "plugins/transfer/hosts.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "plugins/transfer/reference.h"
#include "toml++/toml.h"

namespace berth::transfer {
namespace {

// "https://h:1/path" -> scheme, host, path. A bare "h:1" is https.
absl::Status SplitUrl(const std::string& url, RegistryHost* out) {
  std::string rest = url;
  if (size_t p = rest.find("://"); p != std::string::npos) {
    out->scheme = rest.substr(0, p);
    rest = rest.substr(p + 3);
  }
  if (out->scheme != "http" && out->scheme != "https") {
    return absl::InvalidArgumentError(absl::StrCat("unsupported scheme in \"", url, "\""));
  }
  size_t slash = rest.find('/');
  out->host = rest.substr(0, slash);
  if (out->host.empty()) return absl::InvalidArgumentError(absl::StrCat("no host in \"", url, "\""));
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  while (!path.empty() && path.back() == '/') path.pop_back();
  out->path = path;
  return absl::OkStatus();
}

// containerd: a path that does not end in /v2 gets it appended unless override_path.
void FixPath(RegistryHost* h, bool override_path) {
  if (override_path) return;
  if (!absl::EndsWith(h->path, "/v2")) h->path += "/v2";
}

absl::Status ReadHostFields(const toml::table& t, const std::string& where, RegistryHost* h) {
  if (auto caps = t["capabilities"].as_array()) {
    h->capabilities = 0;
    for (const auto& c : *caps) {
      auto s = c.value<std::string>();
      if (!s) return absl::InvalidArgumentError(where + ".capabilities: strings expected");
      if (*s == "pull") h->capabilities |= kCapPull;
      else if (*s == "resolve") h->capabilities |= kCapResolve;
      else if (*s == "push") h->capabilities |= kCapPush;
      else return absl::InvalidArgumentError(absl::StrCat(where, ".capabilities: unknown \"", *s, "\""));
    }
  }
  if (auto v = t["skip_verify"].value<bool>()) h->skip_verify = *v;
  if (auto ca = t["ca"].value<std::string>()) {
    h->ca_files.push_back(*ca);
  } else if (auto cas = t["ca"].as_array()) {
    for (const auto& c : *cas) {
      if (auto s = c.value<std::string>()) h->ca_files.push_back(*s);
    }
  }
  if (auto hdr = t["header"].as_table()) {
    for (const auto& [k, v] : *hdr) {
      if (auto s = v.value<std::string>()) h->headers[std::string(k.str())] = *s;
    }
  }
  FixPath(h, t["override_path"].value_or(false));
  return absl::OkStatus();
}

RegistryHost DefaultServer(const std::string& host, const HostOptions& o) {
  RegistryHost h;
  h.host = RegistryHostFor(host);
  h.scheme = o.plain_http ? "http" : "https";
  h.skip_verify = o.skip_verify;
  return h;
}

}  // namespace

std::string RegistryHost::BaseUrl() const { return absl::StrCat(scheme, "://", host, path); }

absl::StatusOr<std::vector<RegistryHost>> ParseHostsToml(absl::string_view text,
                                                         const std::string& host,
                                                         const HostOptions& options,
                                                         const std::string& base_dir) {
  toml::table doc;
  try {
    doc = toml::parse(std::string_view(text.data(), text.size()));
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("hosts.toml for ", host, ": ", std::string(e.description())));
  }
  std::vector<RegistryHost> out;
  if (auto hosts = doc["host"].as_table()) {
    // toml++ keeps tables ordered by key; containerd keeps file order. Rebuild file order from
    // the source positions so mirrors are tried as written.
    std::vector<std::pair<toml::source_position, std::string>> order;
    for (const auto& [k, v] : *hosts) order.push_back({v.source().begin, std::string(k.str())});
    std::sort(order.begin(), order.end(), [](const auto& a, const auto& b) {
      return a.first.line != b.first.line ? a.first.line < b.first.line
                                          : a.first.column < b.first.column;
    });
    for (const auto& [pos, key] : order) {
      const toml::table* t = (*hosts)[key].as_table();
      std::string where = absl::StrCat("host.\"", key, "\"");
      if (t == nullptr) return absl::InvalidArgumentError(where + ": a table expected");
      RegistryHost h;
      absl::Status s = SplitUrl(key, &h);
      if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
      BERTH_RETURN_IF_ERROR(ReadHostFields(*t, where, &h));
      out.push_back(std::move(h));
    }
  }
  RegistryHost server = DefaultServer(host, options);
  if (auto s = doc["server"].value<std::string>()) {
    BERTH_RETURN_IF_ERROR(SplitUrl(*s, &server));
    FixPath(&server, false);
  }
  // Root-level keys configure the server, like containerd (capabilities, skip_verify, ca).
  BERTH_RETURN_IF_ERROR(ReadHostFields(doc, "server", &server));
  out.push_back(server);
  for (RegistryHost& h : out) {
    for (std::string& ca : h.ca_files) {
      if (!base_dir.empty() && !ca.empty() && ca[0] != '/') ca = absl::StrCat(base_dir, "/", ca);
    }
  }
  return out;
}

absl::StatusOr<std::vector<RegistryHost>> ConfigureHosts(const std::string& host,
                                                         const HostOptions& options) {
  if (!options.hosts_dir.empty()) {
    for (const std::string& dir : {host, std::string("_default")}) {
      std::string path = absl::StrCat(options.hosts_dir, "/", dir, "/hosts.toml");
      std::ifstream in(path);
      if (!in) continue;
      std::stringstream buf;
      buf << in.rdbuf();
      if (in.bad()) return absl::InvalidArgumentError(absl::StrCat("cannot read ", path));
      return ParseHostsToml(buf.str(), host, options,
                            absl::StrCat(options.hosts_dir, "/", dir));
    }
  }
  return std::vector<RegistryHost>{DefaultServer(host, options)};
}

}  // namespace berth::transfer
