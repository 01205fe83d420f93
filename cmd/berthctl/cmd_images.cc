// images ls|rm|tag|inspect|import, pull and push.
#include <sys/ioctl.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "client/archive_import.h"
#include "client/image_resolve.h"
#include "client/progress.h"
#include "cmd/berthctl/commands.h"

namespace berth::ctl {
namespace {

using json = nlohmann::json;

struct ImageFlags {
  std::vector<std::string> names;
  bool force = false;
  bool sync = false;
  std::string path, base_name, snapshotter = client::kDefaultSnapshotter;
  bool no_unpack = false;
  bool plain_http = false, skip_verify = false;
  std::string user, hosts_dir;
  int max_downloads = 0;
  int max_uploads = 0;
  std::vector<std::string> platforms;
};

ImageFlags& ImageArgs() {
  static ImageFlags f;
  return f;
}

// Streams progress to stdout (in place on a TTY, plain lines otherwise).
class ProgressPrinter {
 public:
  ProgressPrinter() : renderer_(isatty(STDOUT_FILENO) == 1, TerminalWidth()) {}
  void operator()(const client::xferpb::Progress& p) { Write(renderer_.Update(p, absl::Now())); }
  void Finish() { Write(renderer_.Finish(absl::Now())); }

 private:
  static int TerminalWidth() {
    winsize ws{};
    return ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20 ? ws.ws_col : 100;
  }
  static void Write(const std::string& s) {
    if (!s.empty()) std::cout << s << std::flush;
  }
  client::ProgressRenderer renderer_;
};

int List(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    auto images = c.images().List();
    if (!images.ok()) return images.status();
    Table t({"REF", "DIGEST", "SIZE", "CREATED"});
    json j = json::array();
    absl::Time now = absl::Now();
    for (const auto& img : *images) {
      // Size on disk of the platform's manifest (config + layers), like `ctr images ls`.
      int64_t size = img.target().size();
      if (auto r = client::ResolveImage(c.images(), c.content(), img.name()); r.ok()) {
        size = r->manifest.size() + r->config.size();
        for (const auto& l : r->layers) size += l.size();
      }
      t.Add({img.name(), img.target().digest(), Size(size),
             Ago(FromTimestamp(img.created_at()), now)});
      json labels = json::object();
      for (const auto& [k, v] : img.labels()) labels[k] = v;
      j.push_back({{"name", img.name()},
                   {"digest", img.target().digest()},
                   {"media_type", img.target().media_type()},
                   {"size", size},
                   {"created_at", Rfc3339(FromTimestamp(img.created_at()))},
                   {"labels", labels}});
    }
    Emit(ctx.format(), t, j);
    return 0;
  });
}

int Remove(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    int rc = 0;
    for (const auto& n : ImageArgs().names) {
      absl::Status s = c.images().Remove(n, ImageArgs().sync);
      if (!s.ok()) {
        rc = ReportError(s);
        continue;
      }
      std::cout << n << "\n";
    }
    return rc;
  });
}

int Tag(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    const auto& n = ImageArgs().names;
    for (size_t i = 1; i < n.size(); ++i) {
      auto r = c.images().Tag(n[0], n[i], ImageArgs().force);
      if (!r.ok()) return r.status();
      std::cout << n[i] << "\n";
    }
    return 0;
  });
}

int Inspect(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    json out = json::array();
    for (const auto& n : ImageArgs().names) {
      auto r = client::ResolveImage(c.images(), c.content(), n);
      if (!r.ok()) return r.status();
      json layers = json::array();
      for (size_t i = 0; i < r->layers.size(); ++i) {
        layers.push_back({{"digest", r->layers[i].digest()},
                          {"media_type", r->layers[i].media_type()},
                          {"size", r->layers[i].size()},
                          {"diff_id", r->diff_ids[i]}});
      }
      out.push_back({{"name", n},
                     {"target", {{"digest", r->record.target().digest()},
                                 {"media_type", r->record.target().media_type()}}},
                     {"manifest", r->manifest.digest()},
                     {"config_digest", r->config.digest()},
                     {"chain_id", r->chain_id},
                     {"layers", layers},
                     {"config", r->config_json}});
    }
    // Inspect is structured whatever the format: JSON is the table here.
    std::cout << out.dump(2) << "\n";
    return 0;
  });
}

int Import(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    const ImageFlags& f = ImageArgs();
    std::error_code ec;
    std::string abs = std::filesystem::absolute(f.path, ec).string();
    if (ec || !std::filesystem::exists(abs)) {
      return absl::NotFoundError("import " + f.path + ": no such file");
    }
    ProgressPrinter printer;
    auto cb = [&](const client::xferpb::Progress& p) { printer(p); };
    client::xferpb::ImportRequest req;
    req.set_path(abs);
    req.set_base_name(f.base_name);
    req.set_unpack(!f.no_unpack);
    req.set_snapshotter(f.snapshotter);
    std::vector<std::string> names;
    auto r = c.transfer().Import(req, cb);
    if (r.ok()) {
      for (const auto& i : *r) names.push_back(i.name());
    } else if (absl::IsUnimplemented(r.status())) {
      // No transfer service in this daemon: import client-side, like ctr.
      client::ArchiveImportOptions o;
      o.base_name = f.base_name;
      o.unpack = !f.no_unpack;
      o.snapshotter = f.snapshotter;
      auto imgs = client::ImportArchive(c.meta(), c.images(), c.content(), c.snapshots(), abs, o,
                                        cb);
      if (!imgs.ok()) return imgs.status();
      for (const auto& i : *imgs) names.push_back(i.name());
    } else {
      return r.status();
    }
    printer.Finish();
    for (const auto& n : names) std::cout << "imported " << n << "\n";
    return 0;
  });
}

// -u USER[:PASSWORD] as request credentials.
void SetAuth(const std::string& user, client::xferpb::RegistryAuth* auth) {
  if (user.empty()) return;
  size_t colon = user.find(':');
  auth->set_username(user.substr(0, colon));
  if (colon != std::string::npos) auth->set_password(user.substr(colon + 1));
}

int Pull(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    const ImageFlags& f = ImageArgs();
    client::xferpb::PullRequest req;
    req.set_reference(f.names.at(0));
    req.set_unpack(!f.no_unpack);
    req.set_snapshotter(f.snapshotter);
    req.set_plain_http(f.plain_http);
    req.set_skip_verify(f.skip_verify);
    req.set_hosts_dir(f.hosts_dir);
    req.set_max_concurrent_downloads(static_cast<uint32_t>(f.max_downloads));
    SetAuth(f.user, req.mutable_auth());
    ProgressPrinter printer;
    auto r = c.transfer().Pull(req, [&](const client::xferpb::Progress& p) { printer(p); });
    printer.Finish();
    if (!r.ok()) return r.status();
    for (const auto& i : *r) std::cout << "pulled " << i.name() << " " << i.target().digest() << "\n";
    return 0;
  });
}

int Push(Context& ctx) {
  return WithClient(ctx, [&](client::Client& c) -> absl::StatusOr<int> {
    const ImageFlags& f = ImageArgs();
    client::xferpb::PushRequest req;
    req.set_image(f.names.at(0));
    if (f.names.size() > 1) req.set_remote(f.names[1]);
    req.set_plain_http(f.plain_http);
    req.set_skip_verify(f.skip_verify);
    req.set_hosts_dir(f.hosts_dir);
    req.set_max_concurrent_uploads(static_cast<uint32_t>(f.max_uploads));
    SetAuth(f.user, req.mutable_auth());
    for (const std::string& p : f.platforms) {
      std::vector<std::string> parts = absl::StrSplit(p, '/');
      if (parts.size() < 2 || parts.size() > 3 || parts[0].empty() || parts[1].empty()) {
        return absl::InvalidArgumentError("--platform " + p + ": expected OS/ARCH[/VARIANT]");
      }
      auto* pl = req.add_platforms();
      pl->set_os(parts[0]);
      pl->set_architecture(parts[1]);
      if (parts.size() == 3) pl->set_variant(parts[2]);
    }
    ProgressPrinter printer;
    auto r = c.transfer().Push(req, [&](const client::xferpb::Progress& p) { printer(p); });
    printer.Finish();
    if (!r.ok()) return r.status();
    for (const auto& i : *r) std::cout << "pushed " << i.name() << " " << i.target().digest() << "\n";
    return 0;
  });
}

}  // namespace

void AddImageCommands(CLI::App& app, Context& ctx) {
  ImageFlags& f = ImageArgs();
  auto* images = app.add_subcommand("images", "Manage images")->alias("image");
  images->require_subcommand(1);
  images->add_subcommand("ls", "List images")->alias("list")->callback([&ctx] {
    ctx.action = [&ctx] { return List(ctx); };
  });
  auto* rm = images->add_subcommand("rm", "Remove images")->alias("remove");
  rm->add_option("name", f.names, "Image names")->required();
  rm->add_flag("--sync", f.sync, "Wait for garbage collection");
  rm->callback([&ctx] { ctx.action = [&ctx] { return Remove(ctx); }; });
  auto* tag = images->add_subcommand("tag", "Give an image more names");
  tag->add_option("names", f.names, "SOURCE TARGET [TARGET...]")->required()->expected(2, -1);
  tag->add_flag("-f,--force", f.force, "Move an existing TARGET");
  tag->callback([&ctx] { ctx.action = [&ctx] { return Tag(ctx); }; });
  auto* inspect = images->add_subcommand("inspect", "Manifest, config and layers of images");
  inspect->add_option("name", f.names, "Image names")->required();
  inspect->callback([&ctx] { ctx.action = [&ctx] { return Inspect(ctx); }; });
  auto* import = images->add_subcommand("import", "Import an OCI image layout tar");
  import->add_option("file", f.path, "Archive")->required();
  import->add_option("--base-name", f.base_name, "Name for entries that only carry a tag");
  import->add_flag("--no-unpack", f.no_unpack, "Do not unpack into snapshots");
  import->add_option("--snapshotter", f.snapshotter, "Snapshotter")->capture_default_str();
  import->callback([&ctx] { ctx.action = [&ctx] { return Import(ctx); }; });

  auto* pull = app.add_subcommand("pull", "Pull an image from a registry (daemon-side)");
  pull->add_option("ref", f.names, "Image reference")->required()->expected(1);
  pull->add_flag("--plain-http", f.plain_http, "Talk HTTP to the registry");
  pull->add_flag("--skip-verify", f.skip_verify, "Do not verify the registry's certificate");
  pull->add_option("-u,--user", f.user, "Registry credentials USER[:PASSWORD]");
  pull->add_option("--hosts-dir", f.hosts_dir, "Directory of <host>/hosts.toml");
  pull->add_option("--max-concurrent-downloads", f.max_downloads, "Layers fetched at once");
  pull->add_flag("--no-unpack", f.no_unpack, "Do not unpack into snapshots");
  pull->add_option("--snapshotter", f.snapshotter, "Snapshotter")->capture_default_str();
  pull->callback([&ctx] { ctx.action = [&ctx] { return Pull(ctx); }; });

  auto* push = app.add_subcommand("push", "Push an image to a registry (daemon-side)");
  push->add_option("image", f.names, "The local image, then where to push it (default: IMAGE)")
      ->required()
      ->expected(1, 2)
      ->type_name("IMAGE [REMOTE]");
  push->add_flag("--plain-http", f.plain_http, "Talk HTTP to the registry");
  push->add_flag("--skip-verify", f.skip_verify, "Do not verify the registry's certificate");
  push->add_option("-u,--user", f.user, "Registry credentials USER[:PASSWORD]");
  push->add_option("--hosts-dir", f.hosts_dir, "Directory of <host>/hosts.toml");
  push->add_option("--platform", f.platforms, "Manifests of an index to push (OS/ARCH[/VARIANT])");
  push->add_option("--max-concurrent-uploads", f.max_uploads, "Blobs uploaded at once");
  push->callback([&ctx] { ctx.action = [&ctx] { return Push(ctx); }; });
}

}  // namespace berth::ctl
