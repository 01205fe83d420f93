#include "client/client.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"

namespace berth::client {

Client::Client(std::shared_ptr<Connection> conn, std::string address)
    : conn_(std::move(conn)),
      address_(std::move(address)),
      meta_(conn_),
      images_(conn_),
      content_(conn_),
      snapshots_(conn_),
      containers_(conn_),
      tasks_(conn_),
      events_(conn_),
      transfer_(conn_) {}

absl::StatusOr<std::unique_ptr<Client>> Client::Dial(absl::string_view address,
                                                     DialOptions options) {
  absl::StatusOr<std::string> target = NormalizeAddress(address);
  if (!target.ok()) return target.status();
  grpc::ChannelArguments args;
  // What containerd's clients use: 16 MiB messages, authority "localhost".
  args.SetMaxReceiveMessageSize(16 << 20);
  args.SetMaxSendMessageSize(16 << 20);
  args.SetString(GRPC_ARG_DEFAULT_AUTHORITY, "localhost");
  auto channel = grpc::CreateCustomChannel(*target, grpc::InsecureChannelCredentials(), args);
  auto deadline = std::chrono::system_clock::now() +
                  absl::ToChronoMilliseconds(options.connect_timeout);
  if (!channel->WaitForConnected(deadline)) {
    return absl::UnavailableError(absl::StrCat("cannot connect to berthd at ", target->substr(5),
                                               " (is berthd running? see --address)"));
  }
  auto conn = std::make_shared<Connection>(std::move(channel), std::move(options));
  return std::unique_ptr<Client>(new Client(std::move(conn), target->substr(5)));
}

std::unique_ptr<Client> Client::FromChannel(std::shared_ptr<grpc::Channel> channel,
                                            DialOptions options) {
  auto conn = std::make_shared<Connection>(std::move(channel), std::move(options));
  return std::unique_ptr<Client>(new Client(std::move(conn), ""));
}

}  // namespace berth::client
