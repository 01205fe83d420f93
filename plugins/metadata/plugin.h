// The metadata plugin (io.containerd.metadata.v1.rocksdb): owns the database and the namespaced
// stores built on it and on the content and snapshotter plugins, as containerd's metadata.DB
// does. Other plugins require kMetadata and take what they need from here.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "plugins/content/namespaced_store.h"
#include "plugins/images/images.h"
#include "plugins/leases/leases.h"
#include "plugins/metadata/db.h"
#include "plugins/metadata/namespaces.h"
#include "plugins/registry/registry.h"
#include "snapshotter/snapshotter.h"

namespace berth::metadata {

struct Metadata {
  std::unique_ptr<Db> db;
  std::unique_ptr<NamespaceStore> namespaces;
  std::shared_ptr<content::NamespacedStore> content;
  std::shared_ptr<leases::LeaseStore> leases;
  std::shared_ptr<images::ImageStore> images;
  // Ready snapshotters by name ("overlayfs", "native"); shared with their plugins.
  std::map<std::string, std::shared_ptr<snapshotter::Snapshotter>> snapshotters;
  std::shared_ptr<content::ContentStore> blobs;
};

absl::Status RegisterMetadata(plugin::Registry& registry);

}  // namespace berth::metadata
