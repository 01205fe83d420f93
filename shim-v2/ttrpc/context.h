// What a ttrpc handler knows about its call: the request metadata and the deadline.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/time/time.h"

namespace berth::ttrpc {

// Metadata key that carries the containerd namespace on ttrpc.
inline constexpr char kNamespaceKey[] = "containerd-namespace-ttrpc";

struct CallContext {
  // Keys in arrival order; a key may repeat (ttrpc metadata is a list of key/value pairs).
  std::multimap<std::string, std::string> metadata;
  absl::Time deadline = absl::InfiniteFuture();

  // The first value of `key`, or "" when absent.
  std::string Get(const std::string& key) const {
    auto it = metadata.find(key);
    return it == metadata.end() ? std::string() : it->second;
  }
  std::string Namespace() const { return Get(kNamespaceKey); }
  bool Expired() const { return absl::Now() >= deadline; }
};

}  // namespace berth::ttrpc
