// version, info, plugins, namespaces, snapshots, content, leases, events.
#include <csignal>
#include <iostream>

#include "absl/strings/str_join.h"
#include "client/events.h"
#include "client/image_resolve.h"
#include "cmd/berthctl/commands.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

json LabelsJson(const google::protobuf::Map<std::string, std::string>& labels) {
  json j = json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j;
}

std::string LabelsText(const google::protobuf::Map<std::string, std::string>& labels) {
  std::vector<std::string> kv;
  for (const auto& [k, v] : labels) kv.push_back(k + "=" + v);
  std::sort(kv.begin(), kv.end());
  return kv.empty() ? "-" : absl::StrJoin(kv, ",");
}

int Version(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    auto v = c.meta().Version();
    if (!v.ok()) return v.status();
    auto uuid = c.meta().ServerUuid();
    if (!uuid.ok()) return uuid.status();
    json j = {{"client", {{"version", BERTH_VERSION}}},
              {"server", {{"version", v->version()}, {"revision", v->revision()}, {"uuid", *uuid}}}};
    if (ctx.format() == Format::kJson) {
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << "Client:\n  Version:  " << BERTH_VERSION << "\n\nServer:\n  Version:  "
                << v->version() << "\n  Revision: " << v->revision() << "\n  UUID:     " << *uuid
                << "\n";
    }
    return 0;
  });
}

int Info(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    auto v = c.meta().Version();
    if (!v.ok()) return v.status();
    auto plugins = c.meta().Plugins();
    if (!plugins.ok()) return plugins.status();
    auto nss = c.meta().ListNamespaces();
    if (!nss.ok()) return nss.status();
    int ok = 0, skipped = 0;
    std::vector<std::string> snapshotters;
    for (const auto& p : *plugins) {
      bool failed = p.has_init_err() && p.init_err().code() != 0;
      (failed ? skipped : ok)++;
      if (!failed && p.type() == "io.containerd.snapshotter.v1") snapshotters.push_back(p.id());
    }
    auto images = c.images().List();
    auto containers = c.containers().List();
    json j = {{"address", c.address()},
              {"namespace", c.ns()},
              {"server_version", v->version()},
              {"revision", v->revision()},
              {"namespaces", nss->size()},
              {"plugins", {{"ok", ok}, {"skipped", skipped}}},
              {"snapshotters", snapshotters},
              {"images", images.ok() ? images->size() : 0},
              {"containers", containers.ok() ? containers->size() : 0},
              {"architecture", client::HostArchitecture()}};
    if (ctx.format() == Format::kJson) {
      std::cout << j.dump(2) << "\n";
      return 0;
    }
    std::cout << "Server address:  " << c.address() << "\nServer version:  " << v->version()
              << " (" << v->revision() << ")\nNamespace:       " << c.ns()
              << "\nNamespaces:      " << nss->size() << "\nPlugins:         " << ok << " ok, "
              << skipped << " skipped\nSnapshotters:    " << absl::StrJoin(snapshotters, ", ")
              << "\nImages:          " << j["images"] << "\nContainers:      "
              << j["containers"] << "\nArchitecture:    linux/" << client::HostArchitecture()
              << "\n";
    return 0;
  });
}

int Plugins(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    auto plugins = c.meta().Plugins();
    if (!plugins.ok()) return plugins.status();
    Table t({"TYPE", "ID", "STATUS", "REASON"});
    json j = json::array();
    for (const auto& p : *plugins) {
      bool failed = p.has_init_err() && p.init_err().code() != 0;
      std::string reason = failed ? p.init_err().message() : "";
      t.Add({p.type(), p.id(), failed ? "skip" : "ok", reason.empty() ? "-" : reason});
      j.push_back({{"type", p.type()},
                   {"id", p.id()},
                   {"status", failed ? "skip" : "ok"},
                   {"requires", std::vector<std::string>(p.requires_list().begin(),
                                                         p.requires_list().end())},
                   {"error", reason}});
    }
    Emit(ctx.format(), t, j);
    return 0;
  });
}

void AddNamespaces(CLI::App& app, Context& ctx) {
  auto* ns = app.add_subcommand("namespaces", "Manage namespaces")->alias("ns");
  ns->require_subcommand(1);
  ns->add_subcommand("ls", "List namespaces")->alias("list")->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
        auto list = c.meta().ListNamespaces();
        if (!list.ok()) return list.status();
        Table t({"NAME", "LABELS"});
        json j = json::array();
        for (const auto& n : *list) {
          t.Add({n.name(), LabelsText(n.labels())});
          j.push_back({{"name", n.name()}, {"labels", LabelsJson(n.labels())}});
        }
        Emit(ctx.format(), t, j);
        return 0;
      });
    };
  });
  static std::vector<std::string> names;
  auto* create = ns->add_subcommand("create", "Create a namespace");
  create->add_option("name", names, "Namespace names")->required();
  create->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
        for (const auto& n : names) {
          if (auto s = c.meta().CreateNamespace(n); !s.ok()) return s;
        }
        return 0;
      });
    };
  });
  auto* rm = ns->add_subcommand("rm", "Remove empty namespaces")->alias("remove");
  rm->add_option("name", names, "Namespace names")->required();
  rm->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
        for (const auto& n : names) {
          if (auto s = c.meta().RemoveNamespace(n); !s.ok()) return s;
          std::cout << n << "\n";
        }
        return 0;
      });
    };
  });
}

void AddStores(CLI::App& app, Context& ctx) {
  static std::string snapshotter = client::kDefaultSnapshotter;
  auto* snaps = app.add_subcommand("snapshots", "Inspect snapshots")->alias("snapshot");
  snaps->add_option("--snapshotter", snapshotter, "Snapshotter")->capture_default_str();
  snaps->require_subcommand(1);
  snaps->add_subcommand("ls", "List snapshots")->alias("list")->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
        auto list = c.snapshots().List(snapshotter);
        if (!list.ok()) return list.status();
        Table t({"KEY", "PARENT", "KIND"});
        json j = json::array();
        for (const auto& s : *list) {
          std::string kind = client::spb::Kind_Name(s.kind());
          for (auto& ch : kind) ch = static_cast<char>(std::tolower(ch));
          t.Add({s.name(), s.parent().empty() ? "-" : s.parent(), kind});
          j.push_back({{"key", s.name()}, {"parent", s.parent()}, {"kind", kind},
                       {"labels", LabelsJson(s.labels())}});
        }
        Emit(ctx.format(), t, j);
        return 0;
      });
    };
  });
  auto* content = app.add_subcommand("content", "Inspect the content store");
  content->require_subcommand(1);
  content->add_subcommand("ls", "List blobs")->alias("list")->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
        auto list = c.content().List();
        if (!list.ok()) return list.status();
        Table t({"DIGEST", "SIZE", "AGE", "LABELS"});
        json j = json::array();
        absl::Time now = absl::Now();
        for (const auto& i : *list) {
          t.Add({i.digest(), Size(i.size()), Ago(FromTimestamp(i.created_at()), now),
                 LabelsText(i.labels())});
          j.push_back({{"digest", i.digest()}, {"size", i.size()},
                       {"created_at", Rfc3339(FromTimestamp(i.created_at()))},
                       {"labels", LabelsJson(i.labels())}});
        }
        Emit(ctx.format(), t, j);
        return 0;
      });
    };
  });
  auto* leases = app.add_subcommand("leases", "Inspect leases");
  leases->require_subcommand(1);
  leases->add_subcommand("ls", "List leases")->alias("list")->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
        auto list = c.meta().ListLeases();
        if (!list.ok()) return list.status();
        Table t({"ID", "CREATED AT", "LABELS"});
        json j = json::array();
        for (const auto& l : *list) {
          t.Add({l.id(), Rfc3339(FromTimestamp(l.created_at())), LabelsText(l.labels())});
          j.push_back({{"id", l.id()}, {"created_at", Rfc3339(FromTimestamp(l.created_at()))},
                       {"labels", LabelsJson(l.labels())}});
        }
        Emit(ctx.format(), t, j);
        return 0;
      });
    };
  });
}

void AddEvents(CLI::App& app, Context& ctx) {
  static std::vector<std::string> filters;
  auto* ev = app.add_subcommand("events", "Print events as they happen (Ctrl-C ends)");
  ev->add_option("filters", filters, "containerd filters, e.g. 'topic==\"/tasks/exit\"'");
  ev->callback([&ctx] {
    ctx.action = [&ctx] {
      return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
        absl::Status s = c.events().Subscribe(filters, [&](const client::evpb::Envelope& e) {
          std::string body = client::EventToJson(e.event());
          absl::Time t = FromTimestamp(e.timestamp());
          if (ctx.format() == Format::kJson) {
            json j = {{"timestamp", Rfc3339(t)}, {"namespace", e.namespace_()},
                      {"topic", e.topic()}, {"event", json::parse(body, nullptr, false)}};
            std::cout << j.dump() << std::endl;
          } else {
            std::cout << Rfc3339(t) << " " << e.namespace_() << " " << e.topic() << " " << body
                      << std::endl;
          }
          return true;
        });
        if (!s.ok()) return s;
        return 0;
      });
    };
  });
}

}  // namespace

void AddSystemCommands(CLI::App& app, Context& ctx) {
  app.add_subcommand("version", "Client and server versions")->callback([&ctx] {
    ctx.action = [&ctx] { return Version(ctx); };
  });
  app.add_subcommand("info", "Summary of the daemon")->callback([&ctx] {
    ctx.action = [&ctx] { return Info(ctx); };
  });
  auto* plugins = app.add_subcommand("plugins", "List the daemon's plugins")->alias("plugin");
  plugins->add_subcommand("ls", "List plugins")->alias("list")->callback([&ctx] {
    ctx.action = [&ctx] { return Plugins(ctx); };
  });
  plugins->callback([&ctx] {
    if (!ctx.action) ctx.action = [&ctx] { return Plugins(ctx); };
  });
  AddNamespaces(app, ctx);
  AddStores(app, ctx);
  AddEvents(app, ctx);
}

}  // namespace berth::ctl
