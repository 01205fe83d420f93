// RegistryClient's push half (OCI distribution spec v1.0, "Pushing blobs" monolithically, and
// "Pushing manifests"): https://github.com/opencontainers/distribution-spec/blob/main/spec.md
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "content-store/digest.h"
#include "core/status.h"
#include "core/status_macros.h"
#include "plugins/transfer/registry_client.h"

namespace berth::transfer {
namespace {

// A Location header as a URL: absolute as is; "/v2/..." on the host of the request; anything
// else relative to the request's directory (RFC 3986 reference resolution, the common cases).
std::string ResolveLocation(const std::string& request_url, const std::string& location) {
  if (absl::StartsWithIgnoreCase(location, "http://") ||
      absl::StartsWithIgnoreCase(location, "https://")) {
    return location;
  }
  size_t scheme_end = request_url.find("://");
  size_t host_end = request_url.find('/', scheme_end == std::string::npos ? 0 : scheme_end + 3);
  std::string origin = request_url.substr(0, host_end);
  if (absl::StartsWith(location, "/")) return origin + location;
  std::string path = request_url.substr(0, request_url.find('?'));
  return path.substr(0, path.rfind('/') + 1) + location;
}

std::string WithQuery(const std::string& url, const std::string& key, const std::string& value) {
  return absl::StrCat(url, absl::StrContains(url, '?') ? "&" : "?", key, "=", UrlEscape(value));
}

// The registry's Docker-Content-Digest, when it sent one, must name what we pushed.
absl::Status CheckDigestAnswer(const HttpResponse& resp, const std::string& want,
                               const std::string& what) {
  std::string got = resp.Header("docker-content-digest");
  if (got.empty() || got == want) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": the registry stored digest ", got, ", expected ", want));
}

}  // namespace

absl::StatusOr<bool> RegistryClient::BlobExists(const Descriptor& desc) {
  std::string what = absl::StrCat("check blob ", desc.digest);
  auto resp = OnHosts(kCapPush, what, [&](const RegistryHost& h) {
    HttpRequest req = Base(h, "/blobs/" + desc.digest);
    req.method = "HEAD";
    return Send(h, req);
  });
  if (absl::IsNotFound(resp.status())) return false;
  BERTH_RETURN_IF_ERROR(resp.status());
  return true;
}

absl::StatusOr<bool> RegistryClient::PushBlob(const Descriptor& desc, const BlobReader& read,
                                              const std::string& mount_from,
                                              const std::function<void(int64_t)>& on_bytes) {
  std::string what = absl::StrCat("push blob ", desc.digest);
  bool mounted = false;
  auto attempt = [&](const RegistryHost& h) -> absl::StatusOr<HttpResponse> {
    mounted = false;
    std::string path = "/blobs/uploads/";
    if (!mount_from.empty()) {
      path = WithQuery(WithQuery(path, "mount", desc.digest), "from", mount_from);
    }
    HttpRequest post = Base(h, path);
    post.method = "POST";
    BERTH_ASSIGN_OR_RETURN(HttpResponse started, Send(h, post));
    if (started.status == 201 && !mount_from.empty()) {  // mounted: the blob is there now
      mounted = true;
      return started;
    }
    if (started.status < 200 || started.status >= 300) return started;
    std::string location = started.Header("location");
    if (started.status != 202 || location.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat(what, ": the registry answered the upload start with HTTP ",
                       started.status, location.empty() ? " and no Location" : ""));
    }
    HttpRequest put = Base(h, "");
    put.method = "PUT";
    put.url = WithQuery(ResolveLocation(post.url, location), "digest", desc.digest);
    put.headers.push_back("Content-Type: application/octet-stream");
    put.body_size = desc.size;
    put.read_body = [&](int64_t offset, char* buf, size_t len) -> absl::StatusOr<size_t> {
      if (Cancelled()) return absl::CancelledError(what + ": cancelled");
      BERTH_ASSIGN_OR_RETURN(size_t n, read(offset, buf, len));
      if (on_bytes) on_bytes(offset + static_cast<int64_t>(n));
      return n;
    };
    return Send(h, put);
  };
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, OnHosts(kCapPush, what, attempt));
  BERTH_RETURN_IF_ERROR(CheckDigestAnswer(resp, desc.digest, what));
  return mounted;
}

absl::Status RegistryClient::PushManifest(const Descriptor& desc, const std::string& bytes,
                                          const std::string& tag_or_digest) {
  std::string what = absl::StrCat("push manifest ", desc.digest, " as ", tag_or_digest);
  std::string actual = content::Digest::Sha256Of(bytes).str();
  if (actual != desc.digest) {  // never send bytes that do not match their name
    return absl::DataLossError(absl::StrCat(what, ": local bytes hash to ", actual));
  }
  BERTH_ASSIGN_OR_RETURN(HttpResponse resp, OnHosts(kCapPush, what, [&](const RegistryHost& h) {
    HttpRequest req = Base(h, "/manifests/" + tag_or_digest);
    req.method = "PUT";
    req.body = bytes;
    req.headers.push_back("Content-Type: " + desc.media_type);
    return Send(h, req);
  }));
  return CheckDigestAnswer(resp, desc.digest, what);
}

}  // namespace berth::transfer
