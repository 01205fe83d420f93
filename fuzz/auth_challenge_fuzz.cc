// What a registry (or anything answering in its place) says about authentication: the
// WWW-Authenticate header values of a 401 (one per line of the input) read as the registry
// client reads them (scheme, realm, service, scope), and the token server's JSON answer. The
// docker config.json reader gets the same bytes (a local file, but the same kind of JSON).
#include <cstdint>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "plugins/transfer/auth.h"

namespace tr = berth::transfer;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  absl::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> values = absl::StrSplit(text, '\n');
  size_t params = 0;
  for (const tr::Challenge& ch : tr::ParseChallenges(values)) {
    // RegistryClient::Authorize: a bearer challenge needs a realm; service and scope may be absent.
    if (ch.scheme == "bearer" && ch.params.count("realm")) params += ch.params.size();
    for (const auto& [k, v] : ch.params) params += k.size() + v.size();
  }
  (void)params;
  (void)tr::TokenFromResponse(text);
  (void)tr::CredentialsFromDockerConfig(text, "docker.io");
  (void)tr::CredentialsFromDockerConfig(text, "127.0.0.1:5000");
  return 0;
}
