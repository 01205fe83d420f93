// The plugin registry: collects registrations, orders them by dependency, initialises them and
// remembers each one's outcome for introspection.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "core/config.h"
#include "plugins/registry/init_context.h"
#include "plugins/registry/registration.h"

namespace berth::plugin {

// The outcome of one plugin, as `ctr plugins ls` shows it.
struct PluginStatus {
  const Registration* registration;
  Meta meta;
  absl::Status init_error;  // OK = ready; otherwise why it was skipped
};

class Registry {
 public:
  // AlreadyExists for a second registration of the same <type>.<id>.
  absl::Status Add(Registration registration);

  // Registrations in initialisation order. FailedPrecondition naming the plugins of a cycle.
  absl::StatusOr<std::vector<const Registration*>> Ordered() const;

  // Parses every plugin's section from `config` (unknown sections and bad keys are errors),
  // then initialises plugins in order. A plugin whose init fails, whose requirements are all
  // missing, or which is listed in disabled_plugins is skipped with a reason; the others go on.
  absl::Status InitAll(const DaemonConfig& config);

  // The full default config text: daemon keys plus every plugin's default section.
  std::string DefaultConfigToml(const DaemonConfig& daemon) const;

  const std::vector<PluginStatus>& statuses() const { return statuses_; }
  const std::vector<Instance>& ready() const { return ready_; }

  // The ready plugin <type>.<id> as a T (used by the daemon's main to reach services).
  template <typename T>
  std::shared_ptr<T> Find(const std::string& type, const std::string& id) const {
    for (const Instance& inst : ready_) {
      if (inst.registration->type == type && inst.registration->id == id) {
        if (auto* p = std::any_cast<std::shared_ptr<T>>(&inst.value)) return *p;
      }
    }
    return nullptr;
  }

 private:
  std::vector<std::unique_ptr<Registration>> registrations_;
  std::vector<Instance> ready_;
  std::vector<PluginStatus> statuses_;
};

}  // namespace berth::plugin
