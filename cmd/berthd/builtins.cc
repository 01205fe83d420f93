#include "cmd/berthd/builtins.h"

#include "plugins/containers/plugin.h"
#include "plugins/content/plugin.h"
#include "plugins/gc/plugin.h"
#include "plugins/snapshots/plugin.h"
#include "services/content/service.h"
#include "services/diff/service.h"
#include "services/images/service.h"
#include "services/leases/service.h"
#include "services/snapshots/service.h"
#include "plugins/events/plugin.h"
#include "plugins/metadata/plugin.h"
#include "services/containers/service.h"
#include "services/events/service.h"
#include "services/tasks/service.h"
#include "shim-v2/manager/plugin.h"
#include "services/introspection/service.h"
#include "services/namespaces/service.h"
#include "services/version/service.h"
#include "cri/plugin.h"
#include "plugins/transfer/plugin.h"
#include "services/transfer/service.h"

namespace berth::daemon {

absl::Status RegisterBuiltins(plugin::Registry& registry) {
  for (auto* reg : {
           &content::RegisterContentPlugin,
           &snapshotter::RegisterOverlayfs,
           &snapshotter::RegisterNative,
           &metadata::RegisterMetadata,
           &gc::RegisterGcScheduler,
           &services::RegisterContentService,
           &services::RegisterLeasesService,
           &services::RegisterImagesService,
           &services::RegisterSnapshotsService,
           &services::RegisterDiffService,
           &services::RegisterVersionService,
           &services::RegisterNamespacesService,
           &services::RegisterIntrospectionService,
           &events::RegisterEventsExchange,
           &services::RegisterEventsService,
           &services::RegisterTtrpcEventsService,
           &containers::RegisterContainersCore,
           &services::RegisterContainersService,
           &runtime::RegisterTaskManager,
           &services::RegisterTasksService,
           &transfer::RegisterTransferPlugin,
           &services::RegisterTransferService,
           &cri::RegisterCriPlugin,
       }) {
    BERTH_RETURN_IF_ERROR(reg(registry));
  }
  return absl::OkStatus();
}

}  // namespace berth::daemon
