// io.containerd.content.v1.content: the local content store (content-store/) under
// <root>/io.containerd.content.v1.content. The namespaced view is the metadata plugin's.
#pragma once

#include "plugins/registry/registry.h"

namespace berth::content {

// Registers the plugin; its instance is a std::shared_ptr<content::ContentStore>.
absl::Status RegisterContentPlugin(plugin::Registry& registry);

}  // namespace berth::content
