#include "cmd/berthd/builtins.h"

#include "plugins/metadata/plugin.h"
#include "services/introspection/service.h"
#include "services/namespaces/service.h"
#include "services/version/service.h"

namespace berth::daemon {

absl::Status RegisterBuiltins(plugin::Registry& registry) {
  for (auto* reg : {
           &metadata::RegisterMetadata,
           &services::RegisterVersionService,
           &services::RegisterNamespacesService,
           &services::RegisterIntrospectionService,
       }) {
    BERTH_RETURN_IF_ERROR(reg(registry));
  }
  return absl::OkStatus();
}

}  // namespace berth::daemon
