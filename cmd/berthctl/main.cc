// berthctl: the everyday CLI of Berth, a thin layer over berth::client.
#include <unistd.h>

#include <iostream>

#include "cmd/berthctl/commands.h"

namespace berth::ctl {

absl::StatusOr<client::Client*> Context::Client() {
  if (!client_) {
    client::DialOptions opts;
    opts.ns = globals.ns;
    opts.timeout = absl::Seconds(globals.timeout_seconds);
    auto c = client::Client::Dial(globals.address, opts);
    if (!c.ok()) return c.status();
    client_ = std::move(*c);
  }
  return client_.get();
}

int WithClient(Context& ctx, const std::function<absl::StatusOr<int>(client::Client&)>& body) {
  absl::StatusOr<client::Client*> c = ctx.Client();
  if (!c.ok()) return ReportError(c.status());
  absl::StatusOr<int> rc = body(**c);
  if (!rc.ok()) return ReportError(rc.status());
  return *rc;
}

namespace {

int Main(int argc, char** argv) {
  Context ctx;
  CLI::App app{"berthctl: run containers and manage images with berthd", "berthctl"};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every command");
  app.add_option("-a,--address", ctx.globals.address, "berthd's socket")
      ->envname("BERTH_ADDRESS")
      ->capture_default_str();
  app.add_option("-n,--namespace", ctx.globals.ns, "Namespace")
      ->envname("BERTH_NAMESPACE")
      ->capture_default_str();
  app.add_option("--format", ctx.globals.format, "Output format")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
  app.add_option("--timeout", ctx.globals.timeout_seconds, "Seconds per daemon call")
      ->capture_default_str();
  AddSystemCommands(app, ctx);
  AddImageCommands(app, ctx);
  AddContainerCommands(app, ctx);
  AddRunCommands(app, ctx);
  // Global options after the command too (`berthctl ps --format json`), except for run and
  // exec, whose command line after IMAGE/ID belongs to the container.
  std::function<void(CLI::App*)> fall = [&](CLI::App* a) {
    for (CLI::App* sub : a->get_subcommands({})) {
      if (sub->get_name() == "run" || sub->get_name() == "exec") continue;
      sub->fallthrough();
      fall(sub);
    }
  };
  fall(&app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "berthctl: " << e.what() << "\nhint: berthctl --help\n";
    return 2;
  }
  if (!ctx.action) return 2;
  return ctx.action();
}

}  // namespace
}  // namespace berth::ctl

int main(int argc, char** argv) { return berth::ctl::Main(argc, argv); }
