#include "plugins/registry/registry.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "core/log.h"
#include "core/toml_reader.h"

namespace berth::plugin {

absl::StatusOr<NoConfig> NoConfig::FromToml(const toml::table* section) {
  TomlReader reader(section, "plugin");
  BERTH_RETURN_IF_ERROR(reader.Finish());
  return NoConfig{};
}

std::vector<const Instance*> InitContext::All(const std::string& type) const {
  std::vector<const Instance*> out;
  for (const Instance& inst : *ready_) {
    if (inst.registration->type == type) out.push_back(&inst);
  }
  return out;
}

absl::Status Registry::Add(Registration registration) {
  for (const auto& r : registrations_) {
    if (r->type == registration.type && r->id == registration.id) {
      return absl::AlreadyExistsError(
          absl::StrCat("plugin ", registration.FullId(), " registered twice"));
    }
  }
  registrations_.push_back(std::make_unique<Registration>(std::move(registration)));
  return absl::OkStatus();
}

namespace {

bool Requires(const Registration& a, const Registration& b) {
  if (&a == &b) return false;
  for (const auto& t : a.requires_types) {
    if (t == "*") return std::find(b.requires_types.begin(), b.requires_types.end(), "*") ==
                         b.requires_types.end();
    if (t == b.type) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<std::vector<const Registration*>> Registry::Ordered() const {
  // Kahn's algorithm, keeping registration order among plugins that are ready together.
  std::vector<const Registration*> order;
  std::set<const Registration*> placed;
  while (order.size() < registrations_.size()) {
    bool progressed = false;
    for (const auto& r : registrations_) {
      if (placed.count(r.get())) continue;
      bool blocked = false;
      for (const auto& other : registrations_) {
        if (!placed.count(other.get()) && Requires(*r, *other)) {
          blocked = true;
          break;
        }
      }
      if (!blocked) {
        order.push_back(r.get());
        placed.insert(r.get());
        progressed = true;
      }
    }
    if (!progressed) {
      std::vector<std::string> stuck;
      for (const auto& r : registrations_) {
        if (!placed.count(r.get())) stuck.push_back(r->FullId());
      }
      return absl::FailedPreconditionError(
          absl::StrCat("plugin dependency cycle among: ", absl::StrJoin(stuck, ", ")));
    }
  }
  return order;
}

absl::Status Registry::InitAll(const DaemonConfig& config) {
  auto log = log::Get("plugins");
  BERTH_ASSIGN_OR_RETURN(auto order, Ordered());

  // Every config section must belong to a registered plugin; every section must parse.
  std::map<const Registration*, std::any> configs;
  for (const auto& [name, section] : config.plugins) {
    auto it = std::find_if(registrations_.begin(), registrations_.end(),
                           // (init-capture: clang 14 cannot capture a structured binding)
                           [&name = name](const auto& r) { return r->FullId() == name; });
    if (it == registrations_.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config: [plugins.\"", name, "\"] names no known plugin"));
    }
  }
  for (const Registration* r : order) {
    auto it = config.plugins.find(r->FullId());
    auto parsed = r->parse_config(it == config.plugins.end() ? nullptr : &it->second);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("config [plugins.\"", r->FullId(), "\"]: ", parsed.status().message()));
    }
    configs[r] = *std::move(parsed);
  }

  ready_.reserve(order.size());
  const std::set<std::string> disabled(config.disabled_plugins.begin(),
                                       config.disabled_plugins.end());
  for (const Registration* r : order) {
    PluginStatus status{r, {}, absl::OkStatus()};
    if (disabled.count(r->FullId())) {
      status.init_error = absl::FailedPreconditionError("disabled by configuration");
    }
    for (const auto& t : r->requires_types) {
      if (!status.init_error.ok() || t == "*") continue;
      bool any = std::any_of(ready_.begin(), ready_.end(),
                             [&](const Instance& i) { return i.registration->type == t; });
      if (!any) {
        status.init_error =
            absl::FailedPreconditionError(absl::StrCat("no plugin of type ", t, " is ready"));
      }
    }
    if (status.init_error.ok()) {
      InitContext ctx(*r, absl::StrCat(config.root, "/", r->FullId()),
                      absl::StrCat(config.state, "/", r->FullId()), &ready_, &status.meta);
      auto instance = r->init(ctx, configs[r]);
      if (instance.ok()) {
        ready_.push_back(Instance{r, *std::move(instance), status.meta});
      } else {
        status.init_error = instance.status();
      }
    }
    if (status.init_error.ok()) {
      log->debug("plugin {} ready", r->FullId());
    } else {
      log->warn("plugin {} skipped: {}", r->FullId(), status.init_error.ToString());
    }
    statuses_.push_back(std::move(status));
  }
  return absl::OkStatus();
}

std::string Registry::DefaultConfigToml(const DaemonConfig& daemon) const {
  std::ostringstream out;
  out << daemon.ToToml() << "\n";
  toml::table plugins;
  for (const auto& r : registrations_) plugins.insert(r->FullId(), r->default_config());
  out << "\n" << toml::table{{"plugins", plugins}} << "\n";
  return out.str();
}

}  // namespace berth::plugin
