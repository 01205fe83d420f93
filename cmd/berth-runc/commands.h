// The verbs of berth-runc, each a thin call into berth::executor.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/status/status.h"

namespace berth::runc {

struct Globals {
  std::string root = "/run/berth-runc";
};

struct Command {
  CLI::App* sub;
  std::function<int()> run;
};

// Adds every verb to `app`; the returned closures read their parsed options.
std::vector<Command> RegisterCommands(CLI::App& app, Globals& g);

// Logs the error (stderr + --log file) and returns exit status 1.
int Fail(const absl::Status& st);

}  // namespace berth::runc
