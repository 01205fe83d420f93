// What a push takes (Puller::Push, implemented in pusher.cc): a local image sent to a registry
// repository in the OCI distribution spec's order — every blob of the image (layers, then the
// config, each skipped when the repository has it, mounted from another repository of the same
// registry when its containerd.io/distribution.source.<host> label names one), then the
// platform manifests by digest, then the image's own manifest or index under the tag.
//
// An index is pushed with the children the namespace has (containerd pushes what it has); a
// child named by `platforms` that is absent, or any config/layer of a pushed manifest that is
// absent, refuses the push up front with NotFound naming the digest (nothing is sent).
#pragma once

#include <string>
#include <vector>

#include "plugins/transfer/auth.h"
#include "plugins/transfer/platform.h"

namespace berth::transfer {

struct PushOptions {
  std::string image;   // the local image record's name
  std::string remote;  // where to push ("" = the image's name); a tag or a digest
  std::vector<Platform> platforms;  // empty: every manifest of an index present locally
  Credentials credentials;          // empty: docker config.json
  bool plain_http = false;
  bool skip_verify = false;
  std::string hosts_dir;           // "" = the daemon's config_path; only "push" hosts are used
  int max_concurrent_uploads = 0;  // 0 = config
};

}  // namespace berth::transfer
