#include "services/introspection/service.h"

#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_format.h"
#include "containerd/services/introspection/v1/introspection.grpc.pb.h"
#include "core/filters.h"
#include "core/fs.h"
#include "services/common/grpc_service.h"
#include "services/common/grpc_status.h"

namespace berth::services {
namespace {

namespace pb = ::containerd::services::introspection::v1;

absl::StatusOr<std::string> NewUuid() {
  unsigned char b[16];
  int fd = ::open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (fd < 0 || ::read(fd, b, sizeof(b)) != sizeof(b)) {
    if (fd >= 0) ::close(fd);
    return absl::InternalError("read /dev/urandom for the daemon UUID");
  }
  ::close(fd);
  b[6] = (b[6] & 0x0f) | 0x40;  // version 4
  b[8] = (b[8] & 0x3f) | 0x80;  // RFC 4122 variant
  return absl::StrFormat(
      "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
      b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

// The UUID survives restarts: read it from root, or create it there atomically.
absl::StatusOr<std::string> LoadOrCreateUuid(const std::string& root) {
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(root, 0711));
  std::string path = root + "/uuid";
  auto existing = fs::ReadFile(path);
  if (existing.ok() && !existing->empty()) return *existing;
  BERTH_ASSIGN_OR_RETURN(std::string uuid, NewUuid());
  BERTH_RETURN_IF_ERROR(fs::WriteFileAtomic(path, uuid, 0644));
  return uuid;
}

filters::Adaptor AdaptorOf(const pb::Plugin& p) {
  return [&p](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.size() != 1) return std::nullopt;
    if (path[0] == "type") return p.type();
    if (path[0] == "id") return p.id();
    if (path[0] == "capabilities") {
      // containerd matches a capability filter against each capability.
      return p.capabilities().empty() ? std::nullopt
                                      : std::optional<std::string>(p.capabilities(0));
    }
    return std::nullopt;
  };
}

class IntrospectionService : public pb::Introspection::Service {
 public:
  IntrospectionService(const plugin::Registry* registry, std::string uuid)
      : registry_(registry), uuid_(std::move(uuid)) {}

  grpc::Status Plugins(grpc::ServerContext*, const pb::PluginsRequest* req,
                       pb::PluginsResponse* resp) override {
    auto filter = filters::ParseAny({req->filters().begin(), req->filters().end()});
    if (!filter.ok()) return ToGrpcStatus(filter.status());
    for (const auto& st : registry_->statuses()) {
      pb::Plugin p;
      p.set_type(st.registration->type);
      p.set_id(st.registration->id);
      for (const auto& r : st.registration->requires_types) p.add_requires_list(r);
      for (const auto& [k, v] : st.meta.exports) (*p.mutable_exports())[k] = v;
      for (const auto& c : st.meta.capabilities) p.add_capabilities(c);
      if (!st.init_error.ok()) {
        p.mutable_init_err()->set_code(static_cast<int>(st.init_error.code()));
        p.mutable_init_err()->set_message(std::string(st.init_error.message()));
      }
      if ((*filter)->Match(AdaptorOf(p))) *resp->add_plugins() = std::move(p);
    }
    return grpc::Status::OK;
  }

  grpc::Status Server(grpc::ServerContext*, const google::protobuf::Empty*,
                      pb::ServerResponse* resp) override {
    resp->set_uuid(uuid_);
    return grpc::Status::OK;
  }

 private:
  const plugin::Registry* registry_;
  std::string uuid_;
};

}  // namespace

absl::Status RegisterIntrospectionService(plugin::Registry& registry) {
  const plugin::Registry* reg = &registry;
  return registry.Add(plugin::Make<GrpcService>(
      {.type = plugin::kGrpc, .id = "introspection", .requires_types = {"*"}},
      [reg](plugin::InitContext& ctx,
            const plugin::NoConfig&) -> absl::StatusOr<std::shared_ptr<GrpcService>> {
        BERTH_ASSIGN_OR_RETURN(std::string uuid, LoadOrCreateUuid(ctx.root()));
        return std::make_shared<GrpcServiceOf<IntrospectionService>>(reg, uuid);
      }));
}

}  // namespace berth::services
