#include "services/version/service.h"

#include "containerd/services/version/v1/version.grpc.pb.h"
#include "services/common/grpc_service.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::version::v1;

class VersionService : public pb::Version::Service {
 public:
  grpc::Status Version(grpc::ServerContext*, const google::protobuf::Empty*,
                       pb::VersionResponse* resp) override {
    resp->set_version(BERTH_VERSION);
    resp->set_revision(BERTH_REVISION);
    return grpc::Status::OK;
  }
};

}  // namespace

absl::Status RegisterVersionService(plugin::Registry& registry) {
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "version"},
      [](plugin::InitContext&, const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        return std::make_shared<GrpcServiceOf<VersionService>>();
      }));
}

}  // namespace berth::services
