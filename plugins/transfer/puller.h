// The pull pipeline (daemon side), the core behind Transfer.Pull and CRI PullImage:
//
//   resolve -> manifest (or index -> the manifests for the wanted platforms) -> config ->
//   layers downloaded in parallel into the content store, each streamed at the same time
//   through hashing, decompression and tar apply into a snapshot (see LayerStream) ->
//   snapshots committed under their chain IDs -> config / manifest / index written with
//   containerd's gc labels -> image record created or updated.
//
// Everything is written under a lease (containerd.io/gc.expire = 24 h) deleted on success. A
// failed or killed pull leaves that lease, so its partial ingests survive and the next pull of
// the same layers resumes them (ingest refs are "layer-<digest>", like containerd's). A
// snapshot is committed only after its layer's digest and diff ID were verified and the blob
// was committed; a half-applied one stays an "extract-..." active snapshot owned by the lease.
//
// Layout compatibility with containerd's unpacker: snapshots are named by chain ID, layer blobs
// carry containerd.io/uncompressed, the config containerd.io/gc.ref.snapshot.<snapshotter>,
// manifests containerd.io/gc.ref.content.config / .l.<i>, indexes .m.<i>; so `ctr run` uses a
// pulled image and `ctr images pull` finds everything already there.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "plugins/metadata/plugin.h"
#include "plugins/transfer/auth.h"
#include "plugins/transfer/manifest.h"
#include "plugins/transfer/platform.h"
#include "plugins/transfer/pusher.h"

namespace berth::transfer {

struct PullerConfig {
  std::string config_path = "/etc/berth/certs.d";  // hosts.toml directory
  int max_concurrent_downloads = 3;
  int max_concurrent_uploads = 3;
  int low_speed_seconds = 30;  // "no progress for N s" fails a transfer
  int max_attempts = 5;        // per request, for transient registry failures
  std::string default_snapshotter = "overlayfs";
};

struct PullOptions {
  std::string reference;
  std::vector<Platform> platforms;  // empty: DefaultPlatform()
  bool unpack = true;
  std::string snapshotter;  // "" = default
  Credentials credentials;  // empty: docker config.json
  bool plain_http = false;
  bool skip_verify = false;
  std::string hosts_dir;  // "" = config_path
  std::map<std::string, std::string> labels;
  int max_concurrent_downloads = 0;  // 0 = config
};

struct ProgressItem {
  std::string ref;  // "layer-sha256:..", "manifest-sha256:..", "config-sha256:..", "index-.."
  std::string digest;
  std::string media_type;
  std::string state;  // waiting resolving downloading verifying unpacking done exists failed
  int64_t offset = 0;
  int64_t total = 0;
  std::string error;
};

// Receives batches of changed items; calls are serialised. A non-OK return cancels the pull
// (the client went away).
using ProgressFn = std::function<absl::Status(const std::vector<ProgressItem>&)>;

struct PullResult {
  std::string name;  // the image record, "docker.io/library/busybox:latest"
  Descriptor target;
};

struct ImportOptions {
  std::string path;       // OCI image layout tar (optionally gzip) or `docker save` archive
  std::string base_name;  // names images the archive leaves unnamed: "<base_name>@<digest>"
  bool unpack = false;
  std::string snapshotter;
  std::map<std::string, std::string> labels;
};

struct ExportOptions {
  std::string path;  // created 0600 (written to a temp file, then renamed)
  std::vector<std::string> images;
  std::vector<Platform> platforms;  // empty: every platform whose blobs are present
};

class Puller {
 public:
  Puller(std::shared_ptr<metadata::Metadata> md, PullerConfig config)
      : md_(std::move(md)), config_(std::move(config)) {}

  // Pulls `options.reference` into namespace `ns`. Errors: InvalidArgument (bad reference,
  // bad hosts.toml, malformed manifest), NotFound (no such image / platform), Unauthenticated,
  // PermissionDenied, Unavailable (registry unreachable after retries: message names host and
  // attempt), FailedPrecondition (digest or size mismatch), Cancelled, and store errors.
  absl::StatusOr<PullResult> Pull(const std::string& ns, const PullOptions& options,
                                  const ProgressFn& progress);

  // Imports every image of an archive: blobs verified against their names (OCI layout) and
  // stored, a Docker schema 2 manifest made for each `docker save` image, gc labels set,
  // images created or updated (unpacked for this platform when asked). Digests are preserved.
  // InvalidArgument for an unreadable or malformed archive or one that names no image (and no
  // base_name); FailedPrecondition for a blob whose bytes do not match its name; NotFound when
  // a manifest points at a blob the archive lacks.
  absl::StatusOr<std::vector<PullResult>> Import(const std::string& ns,
                                                 const ImportOptions& options,
                                                 const ProgressFn& progress);

  // Writes an OCI image layout tar holding `images` (index.json names each with
  // io.containerd.image.name and org.opencontainers.image.ref.name). NotFound for a missing
  // image or for a blob of a selected platform that is not in the store; InvalidArgument for
  // an empty list or path.
  absl::Status Export(const std::string& ns, const ExportOptions& options,
                      const ProgressFn& progress);

  // Pushes local image `options.image` to `options.remote` (see pusher.h for the order and
  // what is sent). Progress items: "layer-", "config-", "manifest-", "index-<digest>" with
  // states checking, uploading (bytes), exists, mounted, done. Returns the remote name and the
  // pushed root descriptor. Errors: NotFound (no such image; a required blob absent locally,
  // naming it), InvalidArgument (bad reference or hosts.toml), FailedPrecondition (no host
  // with the push capability; the registry refused a manifest or answered another digest),
  // Unauthenticated / PermissionDenied, Unavailable (after retries), Cancelled.
  absl::StatusOr<PullResult> Push(const std::string& ns, const PushOptions& options,
                                  const ProgressFn& progress);

  const PullerConfig& config() const { return config_; }

 private:
  std::shared_ptr<metadata::Metadata> md_;
  PullerConfig config_;
};

}  // namespace berth::transfer
