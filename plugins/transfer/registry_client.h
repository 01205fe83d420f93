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
//
// Push (distribution-spec "push", implemented in registry_push.cc): with ClientOptions::push
// the Bearer token is asked for "repository:<repo>:pull,push" (plus the pull scope of each
// repository a blob is mounted from); HEAD to skip blobs the repository has, POST + monolithic
// PUT (or a cross-repository mount) for the others, PUT of manifests last. A pusher gives the
// client one host: the first with the "push" capability.
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
  // Token scopes for a push (see above) instead of the pull scope.
  bool push = false;
  std::vector<std::string> extra_scopes = {};  // e.g. "repository:other/repo:pull" for mounts
};

// Bytes [offset, offset + len) of a blob being pushed: how many were put in `buf` (0 only past
// the end). Called again from 0 when an upload is retried.
using BlobReader = std::function<absl::StatusOr<size_t>(int64_t offset, char* buf, size_t len)>;

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

  // --- push (hosts with the push capability only) ---

  // Whether the repository already holds blob `desc` (HEAD /blobs/<digest>; 404 -> false).
  // Errors as Resolve.
  absl::StatusOr<bool> BlobExists(const Descriptor& desc);

  // Uploads blob `desc` (size and digest must be right: the registry verifies them): POST
  // /blobs/uploads/ (with ?mount=<digest>&from=<mount_from> when mount_from is set; a 201 means
  // mounted, nothing to send), then PUT <Location>?digest=<digest> with desc.size bytes from
  // `read` (Location may be absolute or relative). `on_bytes` (may be null) sees the bytes sent
  // so far. Returns true when the blob was mounted. FailedPrecondition when the registry's
  // Docker-Content-Digest names another digest or it answers the upload start without a
  // Location; DataLoss when `read` ends early; otherwise as Resolve, plus read's errors.
  absl::StatusOr<bool> PushBlob(const Descriptor& desc, const BlobReader& read,
                                const std::string& mount_from,
                                const std::function<void(int64_t)>& on_bytes);

  // PUT /manifests/<tag_or_digest> of manifest/index `bytes` with Content-Type
  // desc.media_type. FailedPrecondition when the registry refuses it (e.g. a blob it references
  // is unknown: the registry's message is kept) or its Docker-Content-Digest is not desc.digest.
  absl::Status PushManifest(const Descriptor& desc, const std::string& bytes,
                            const std::string& tag_or_digest);

  const Reference& reference() const { return ref_; }

 private:
  using Attempt = std::function<absl::StatusOr<HttpResponse>(const RegistryHost&)>;
  // Runs `attempt` on each host with `capability`, with retries; the first success wins.
  absl::StatusOr<HttpResponse> OnHosts(unsigned capability, const std::string& what,
                                       const Attempt& attempt);
  // One request with authentication (answers one 401).
  absl::StatusOr<HttpResponse> Send(const RegistryHost& host, HttpRequest req);
  absl::Status Authorize(const RegistryHost& host, const HttpResponse& challenge_response);
  // The scopes to ask a token server for, given the challenge's scope ("" when none).
  std::vector<std::string> Scopes(const std::string& challenge_scope) const;
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
