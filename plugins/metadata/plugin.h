// The metadata plugin (io.containerd.metadata.v1.rocksdb): owns the database and the stores
// built on it. Other plugins require kMetadata and take what they need from here.
#pragma once

#include <memory>

#include "plugins/metadata/db.h"
#include "plugins/metadata/namespaces.h"
#include "plugins/registry/registry.h"

namespace berth::metadata {

struct Metadata {
  std::unique_ptr<Db> db;
  std::unique_ptr<NamespaceStore> namespaces;
};

absl::Status RegisterMetadata(plugin::Registry& registry);

}  // namespace berth::metadata
