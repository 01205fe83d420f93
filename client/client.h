// berth::client::Client: the C++ client of berthd (containerd API v1 + Berth's transfer
// service), for berthctl and for tools that embed Berth.
//
//   auto c = berth::client::Client::Dial("/run/berth/berth.sock");   // or "unix:///..."
//   if (!c.ok()) ...;
//   auto images = (*c)->images().List();                 // namespace "default"
//   auto other  = (*c)->images().List({}, {.ns = "k8s.io"});
//
// Each service is a small class with one method per RPC; every method takes CallOptions
// (namespace, deadline, lease) that override the client's defaults, and returns absl::Status /
// StatusOr with the daemon's gRPC code mapped back to the same absl code. A Client is safe to
// use from several threads (gRPC stubs are), except Events::Subscribe/Cancel pairs.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "client/connection.h"
#include "client/containers.h"
#include "client/events.h"
#include "client/images.h"
#include "client/meta.h"
#include "client/transfer.h"

namespace berth::client {

class Client {
 public:
  // Connects to berthd at `address` ("/path", "unix:/path", "unix:///path"), waiting up to
  // options.connect_timeout for the socket. InvalidArgument: bad address; Unavailable: nothing
  // answers there (the message says which path and suggests checking that berthd runs).
  static absl::StatusOr<std::unique_ptr<Client>> Dial(absl::string_view address,
                                                      DialOptions options = {});
  // A client over an existing channel (tests, custom credentials). No connection check.
  static std::unique_ptr<Client> FromChannel(std::shared_ptr<grpc::Channel> channel,
                                             DialOptions options = {});

  // The default namespace of calls that do not name one.
  const std::string& ns() const { return conn_->ns(); }
  void set_ns(std::string ns) { conn_->set_ns(std::move(ns)); }
  const std::string& address() const { return address_; }

  Meta& meta() { return meta_; }  // version, plugins, namespaces, leases
  Images& images() { return images_; }
  Content& content() { return content_; }
  Snapshots& snapshots() { return snapshots_; }  // and the diff service
  Containers& containers() { return containers_; }
  Tasks& tasks() { return tasks_; }
  Events& events() { return events_; }
  Transfer& transfer() { return transfer_; }

 private:
  Client(std::shared_ptr<Connection> conn, std::string address);

  std::shared_ptr<Connection> conn_;
  std::string address_;
  Meta meta_;
  Images images_;
  Content content_;
  Snapshots snapshots_;
  Containers containers_;
  Tasks tasks_;
  Events events_;
  Transfer transfer_;
};

}  // namespace berth::client
