// berthctl's commands. Each Add*Commands registers CLI11 subcommands whose callbacks store
// the action to run; main parses, dials berthd once and runs it. An action returns the
// process exit code: 0, 1 for errors (printed with ReportError), or the container's status
// for run/exec.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "client/client.h"
#include "cmd/berthctl/output.h"

namespace berth::ctl {

struct Globals {
  std::string address = client::kDefaultAddress;
  std::string ns = client::kDefaultNamespace;
  std::string format = "table";
  int timeout_seconds = 30;
};

class Context {
 public:
  Globals globals;
  std::function<int()> action;

  Format format() const { return globals.format == "json" ? Format::kJson : Format::kTable; }
  // Dials on first use. Unavailable when berthd does not answer.
  absl::StatusOr<client::Client*> Client();

 private:
  std::unique_ptr<client::Client> client_;
};

void AddSystemCommands(CLI::App& app, Context& ctx);     // version info plugins namespaces
                                                         // snapshots content leases events
void AddImageCommands(CLI::App& app, Context& ctx);      // images pull push
void AddContainerCommands(CLI::App& app, Context& ctx);  // ps kill rm logs
void AddRunCommands(CLI::App& app, Context& ctx);        // run exec

// Shorthand for actions: dial, then `body(client)`; errors go through ReportError.
int WithClient(Context& ctx, const std::function<absl::StatusOr<int>(client::Client&)>& body);

}  // namespace berth::ctl
