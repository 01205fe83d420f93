#include "core/config.h"

#include <sstream>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/status_macros.h"
#include "core/toml_reader.h"

namespace berth {
namespace {

absl::StatusOr<toml::table> ParseToml(absl::string_view text, absl::string_view source) {
  // toml++ reports syntax errors by exception; they stop here.
  try {
    return toml::parse(std::string_view(text.data(), text.size()),
                       std::string_view(source.data(), source.size()));
  } catch (const toml::parse_error& e) {
    std::ostringstream where;
    where << e.source().begin;
    return absl::InvalidArgumentError(
        absl::StrCat("config ", source, " ", where.str(), ": ", std::string(e.description())));
  }
}

}  // namespace

absl::StatusOr<DaemonConfig> DaemonConfig::Parse(absl::string_view text,
                                                 absl::string_view source) {
  BERTH_ASSIGN_OR_RETURN(toml::table doc, ParseToml(text, source));
  DaemonConfig cfg;
  TomlReader top(&doc, std::string(source));
  top.Int("version", &cfg.version);
  top.String("root", &cfg.root);
  top.String("state", &cfg.state);
  top.StringList("disabled_plugins", &cfg.disabled_plugins);

  TomlReader grpc(top.Table("grpc"), "[grpc]");
  grpc.String("address", &cfg.grpc.address);
  grpc.Int("max_recv_message_size", &cfg.grpc.max_recv_message_size);
  grpc.Int("max_send_message_size", &cfg.grpc.max_send_message_size);
  BERTH_RETURN_IF_ERROR(grpc.Finish());

  TomlReader debug(top.Table("debug"), "[debug]");
  debug.String("level", &cfg.debug.level);
  debug.String("format", &cfg.debug.format);
  BERTH_RETURN_IF_ERROR(debug.Finish());

  if (const toml::table* plugins = top.Table("plugins")) {
    for (const auto& [name, section] : *plugins) {
      if (!section.is_table()) {
        return absl::InvalidArgumentError(
            absl::StrCat("config: [plugins.\"", std::string(name.str()), "\"] must be a table"));
      }
      cfg.plugins[std::string(name.str())] = *section.as_table();
    }
  }
  BERTH_RETURN_IF_ERROR(top.Finish());
  if (cfg.version != 1 && cfg.version != 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("config ", source, ": unsupported version ", cfg.version, " (want 1 or 2)"));
  }
  if (cfg.debug.format != "text" && cfg.debug.format != "json") {
    return absl::InvalidArgumentError(absl::StrCat("config [debug]: format \"", cfg.debug.format,
                                                   "\" is not text or json"));
  }
  return cfg;
}

absl::StatusOr<DaemonConfig> DaemonConfig::Load(const std::string& path) {
  BERTH_ASSIGN_OR_RETURN(std::string text, fs::ReadFile(path));
  return Parse(text, path);
}

toml::table DaemonConfig::ToToml() const {
  toml::array disabled;
  for (const auto& d : disabled_plugins) disabled.push_back(d);
  return toml::table{
      {"version", version},
      {"root", root},
      {"state", state},
      {"disabled_plugins", disabled},
      {"grpc", toml::table{{"address", grpc.address},
                           {"max_recv_message_size", grpc.max_recv_message_size},
                           {"max_send_message_size", grpc.max_send_message_size}}},
      {"debug", toml::table{{"level", debug.level}, {"format", debug.format}}},
  };
}

}  // namespace berth
