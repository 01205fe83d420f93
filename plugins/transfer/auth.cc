#include "plugins/transfer/auth.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "nlohmann/json.hpp"

namespace berth::transfer {
namespace {

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(c) || absl::StrContains("!#$%&'*+-.^_`|~/", c);
}

// A small cursor over one header value.
struct Scanner {
  absl::string_view s;
  size_t i = 0;
  void SkipSpace() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  std::string Token() {
    size_t b = i;
    while (i < s.size() && IsTokenChar(s[i])) ++i;
    return std::string(s.substr(b, i - b));
  }
  bool Peek(char c) {
    SkipSpace();
    return i < s.size() && s[i] == c;
  }
  std::string Quoted() {  // at '"'
    std::string out;
    for (++i; i < s.size() && s[i] != '"'; ++i) {
      if (s[i] == '\\' && i + 1 < s.size()) ++i;
      out.push_back(s[i]);
    }
    ++i;
    return out;
  }
};

void ParseOne(absl::string_view value, std::vector<Challenge>* out) {
  Scanner sc{value};
  Challenge* cur = nullptr;
  while (sc.i < value.size()) {
    sc.SkipSpace();
    if (sc.Peek(',')) {
      ++sc.i;
      continue;
    }
    std::string tok = sc.Token();
    if (tok.empty()) {  // junk: skip one character
      ++sc.i;
      continue;
    }
    if (sc.Peek('=')) {
      ++sc.i;
      sc.SkipSpace();
      std::string v = sc.Peek('"') ? sc.Quoted() : sc.Token();
      if (cur != nullptr) cur->params[absl::AsciiStrToLower(tok)] = v;
      continue;
    }
    out->push_back(Challenge{absl::AsciiStrToLower(tok), {}});
    cur = &out->back();
  }
}

// "https://index.docker.io/v1/" -> "index.docker.io".
std::string HostOfKey(absl::string_view key) {
  absl::ConsumePrefix(&key, "https://");
  absl::ConsumePrefix(&key, "http://");
  return std::string(key.substr(0, key.find('/')));
}

bool SameRegistry(const std::string& key_host, const std::string& host) {
  if (key_host == host) return true;
  auto is_hub = [](const std::string& h) {
    return h == "docker.io" || h == "index.docker.io" || h == "registry-1.docker.io";
  };
  return is_hub(key_host) && is_hub(host);
}

}  // namespace

std::vector<Challenge> ParseChallenges(const std::vector<std::string>& header_values) {
  std::vector<Challenge> out;
  for (const auto& v : header_values) ParseOne(v, &out);
  return out;
}

absl::StatusOr<Credentials> CredentialsFromDockerConfig(absl::string_view json,
                                                        const std::string& host) {
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(json);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("docker config.json: ", e.what()));
  }
  if (!doc.is_object() || !doc.contains("auths") || !doc["auths"].is_object()) return Credentials{};
  for (const auto& [key, entry] : doc["auths"].items()) {
    if (!SameRegistry(HostOfKey(key), host) || !entry.is_object()) continue;
    Credentials c;
    auto str = [&entry = entry](const char* k) {  // clang 14 cannot capture a binding
      auto it = entry.find(k);
      return it != entry.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    c.username = str("username");
    c.password = str("password");
    c.identity_token = str("identitytoken");
    c.registry_token = str("registrytoken");
    if (std::string auth = str("auth"); !auth.empty()) {
      std::string decoded;
      if (!absl::Base64Unescape(auth, &decoded) || !absl::StrContains(decoded, ':')) {
        return absl::InvalidArgumentError(
            absl::StrCat("docker config.json: bad \"auth\" for ", key));
      }
      c.username = decoded.substr(0, decoded.find(':'));
      c.password = decoded.substr(decoded.find(':') + 1);
    }
    return c;
  }
  return Credentials{};
}

absl::StatusOr<Credentials> DockerConfigCredentials(const std::string& host) {
  std::string path;
  if (const char* d = std::getenv("DOCKER_CONFIG"); d != nullptr && *d != '\0') {
    path = absl::StrCat(d, "/config.json");
  } else if (const char* h = std::getenv("HOME"); h != nullptr && *h != '\0') {
    path = absl::StrCat(h, "/.docker/config.json");
  } else {
    return Credentials{};
  }
  std::ifstream in(path);
  if (!in) return Credentials{};
  std::stringstream buf;
  buf << in.rdbuf();
  return CredentialsFromDockerConfig(buf.str(), host);
}

absl::StatusOr<std::string> TokenFromResponse(absl::string_view json) {
  try {
    auto doc = nlohmann::json::parse(json);
    for (const char* k : {"token", "access_token"}) {
      if (doc.contains(k) && doc[k].is_string() && !doc[k].get<std::string>().empty()) {
        return doc[k].get<std::string>();
      }
    }
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("token response: ", e.what()));
  }
  return absl::InvalidArgumentError("token response has no token");
}

std::string BasicAuthorization(const std::string& user, const std::string& password) {
  return absl::StrCat("Basic ", absl::Base64Escape(absl::StrCat(user, ":", password)));
}

std::string PullScope(const std::string& repository) {
  return absl::StrCat("repository:", repository, ":pull");
}

std::string PushScope(const std::string& repository) {
  return absl::StrCat("repository:", repository, ":pull,push");
}

}  // namespace berth::transfer
