// A client of one repository on an OCI distribution registry (distribution-spec v1.0 pull):
// resolve a tag or digest, fetch manifests and blobs, across the mirrors and server that
// hosts.toml configures.
//
// Every request goes to the hosts in order (mirrors first, a host is used only for what its
// capabilities allow); on a 401 the WWW-Authenticate challenge is answered (Bearer: a token
// from realm?service=&scope=, with Basic credentials, an identity token or none; Basic: the
// credentials) and the request repeated once. Transient failures (transport errors, 5xx, 429)
// are retried with exponential backoff; a blob transfer resumes where its sink stopped with a
// Range request. Thread-safe: layers are fetched in parallel through one client.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "plugins/transfer/auth.h"
#include "plugins/transfer/hosts.h"
#include "plugins/transfer/http.h"
#include "plugins/transfer/manifest.h"
#include "plugins/transfer/reference.h"

namespace berth::transfer {

// Where a blob's bytes go. Offset() is where a (re)started transfer resumes.
class BlobSink {
 public:
  virtual ~BlobSink() = default;
  virtual int64_t Offset() const = 0;
  // The server ignored the Range: start over from byte 0.
  virtual absl::Status Restart() = 0;
  virtual absl::Status Write(absl::string_view data) = 0;
};

struct ClientOptions {
  std::vector<RegistryHost> hosts;  // at least one (ConfigureHosts)
  Credentials credentials;
  int low_speed_seconds = 30;
  int max_attempts = 5;  // per host, for transient failures
  absl::Duration initial_backoff = absl::Milliseconds(500);
  // Polled between retries and while bytes flow; true aborts with Cancelled.
  std::function<bool()> cancelled;
};

class RegistryClient {
 public:
  RegistryClient(Reference ref, ClientOptions options);

  // The descriptor of the reference's tag (or digest): HEAD, then GET when HEAD gives no
  // Docker-Content-Digest. NotFound when no host has it; Unauthenticated / PermissionDenied
  // for refused credentials; Unavailable when every host failed (message names the last).
  absl::StatusOr<Descriptor> Resolve();

  // The bytes of manifest/index `desc`, verified against its digest and size (FailedPrecondition
  // naming both digests), at most kMaxManifestSize (ResourceExhausted).
  absl::StatusOr<std::string> FetchManifest(const Descriptor& desc);

  // A small blob (an image config) in memory, verified, at most `max` bytes.
  absl::StatusOr<std::string> FetchSmallBlob(const Descriptor& desc, int64_t max);

  // Streams blob `desc` into `sink` from sink.Offset() to the end. The digest is the sink's to
  // verify (the content store does at commit). Errors as Resolve, plus what the sink returns.
  absl::Status FetchBlob(const Descriptor& desc, BlobSink& sink);

  const Reference& reference() const { return ref_; }

 private:
  using Attempt = std::function<absl::StatusOr<HttpResponse>(const RegistryHost&)>;
  // Runs `attempt` on each host with `capability`, with retries; the first success wins.
  absl::StatusOr<HttpResponse> OnHosts(unsigned capability, const std::string& what,
                                       const Attempt& attempt);
  // One request with authentication (answers one 401).
  absl::StatusOr<HttpResponse> Send(const RegistryHost& host, HttpRequest req);
  absl::Status Authorize(const RegistryHost& host, const HttpResponse& challenge_response);
  HttpRequest Base(const RegistryHost& host, const std::string& path) const;
  bool Cancelled() const { return options_.cancelled && options_.cancelled(); }

  Reference ref_;
  ClientOptions options_;
  std::mutex mu_;
  std::map<std::string, std::string> authorization_ ABSL_GUARDED_BY(mu_);  // by host
};

// An HTTP status as a Status: 2xx OK; 404 NotFound; 401 Unauthenticated; 403 PermissionDenied;
// 429 and 5xx Unavailable (retried); other codes FailedPrecondition. The message carries `what`
// and the registry's error text.
absl::Status StatusFromHttp(const HttpResponse& resp, const std::string& what);

}  // namespace berth::transfer
