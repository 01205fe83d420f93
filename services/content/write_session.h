// The bidirectional Write protocol of containerd's content service (services/content/
// service.go): the first message names the ref (and may carry total/expected); then STAT,
// WRITE and COMMIT actions, each answered with the ingest's status; COMMIT answers with the
// digest. Offsets follow the writer's rules (0 restarts, otherwise the current offset).
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"
#include "containerd/services/content/v1/content.grpc.pb.h"
#include "plugins/content/namespaced_store.h"

namespace berth::services {

absl::Status RunWriteSession(
    content::NamespacedStore& store, const std::string& ns, const std::string& lease,
    grpc::ServerReaderWriter<::containerd::services::content::v1::WriteContentResponse,
                             ::containerd::services::content::v1::WriteContentRequest>* stream,
    // Called after a successful COMMIT, before it is answered (may be empty).
    const std::function<void(const content::Digest&)>& committed = {});

}  // namespace berth::services
