// Registry authentication pieces that need no network: WWW-Authenticate challenge parsing
// (RFC 7235, as registries send it: `Bearer realm="..",service="..",scope=".."`), docker
// config.json credentials, and the token server's answer.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::transfer {

struct Credentials {
  std::string username;
  std::string password;
  std::string identity_token;  // an OAuth2 refresh token for the token server
  std::string registry_token;  // a bearer token used as is
  bool empty() const {
    return username.empty() && password.empty() && identity_token.empty() && registry_token.empty();
  }
};

struct Challenge {
  std::string scheme;                         // lower case: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower case: realm, service, scope, error
};

// Every challenge in one or more WWW-Authenticate header values. Malformed parts are skipped
// (a registry's odd header must not hide a good challenge next to it).
std::vector<Challenge> ParseChallenges(const std::vector<std::string>& header_values);

// Credentials for registry `host` ("docker.io", "127.0.0.1:5000") from a docker config.json
// document: `auths.<key>.auth` (base64 user:password) or username/password, identitytoken,
// registrytoken. Keys may carry a scheme and path ("https://index.docker.io/v1/").
// Empty credentials when none match; InvalidArgument for bad JSON or bad base64.
// credsStore / credHelpers are not consulted (no helper processes in the daemon).
absl::StatusOr<Credentials> CredentialsFromDockerConfig(absl::string_view json,
                                                        const std::string& host);

// Reads $DOCKER_CONFIG/config.json, else $HOME/.docker/config.json; a missing file gives empty
// credentials.
absl::StatusOr<Credentials> DockerConfigCredentials(const std::string& host);

// The token from a token server response ({"token": ..} or {"access_token": ..}).
// InvalidArgument when there is neither.
absl::StatusOr<std::string> TokenFromResponse(absl::string_view json);

// "Basic <base64(user:password)>".
std::string BasicAuthorization(const std::string& user, const std::string& password);

// The scope a pull of `repository` needs: "repository:<repo>:pull".
std::string PullScope(const std::string& repository);
// The scope a push needs: "repository:<repo>:pull,push".
std::string PushScope(const std::string& repository);

}  // namespace berth::transfer
