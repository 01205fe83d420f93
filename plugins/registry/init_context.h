// What a plugin's init function may use: its directories, its config, and the plugins it
// declared it requires (checked access: asking for an undeclared type is a FailedPrecondition).
#pragma once

#include <any>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "plugins/registry/registration.h"

namespace berth::plugin {

// One initialised plugin as the registry keeps it.
struct Instance {
  const Registration* registration = nullptr;
  std::any value;  // std::shared_ptr<T>
  Meta meta;
};

class InitContext {
 public:
  InitContext(const Registration& self, std::string root, std::string state,
              const std::vector<Instance>* ready, Meta* meta)
      : self_(self), root_(std::move(root)), state_(std::move(state)), ready_(ready), meta_(meta) {}

  // <daemon root>/<type>.<id> and <daemon state>/<type>.<id> (not created).
  const std::string& root() const { return root_; }
  const std::string& state() const { return state_; }
  // The daemon-wide directories, for plugins that share them (content, metadata).
  std::string daemon_root() const { return root_.substr(0, root_.rfind('/')); }
  std::string daemon_state() const { return state_.substr(0, state_.rfind('/')); }

  // Exports and capabilities shown by introspection.
  Meta& meta() { return *meta_; }

  // The first ready plugin of `type` as a T. FailedPrecondition if `type` was not declared in
  // requires_types; NotFound if no plugin of that type is ready.
  template <typename T>
  absl::StatusOr<std::shared_ptr<T>> Get(const std::string& type) const {
    for (const Instance* inst : All(type)) return Cast<T>(*inst);
    return absl::NotFoundError(absl::StrCat("no plugin of type ", type, " is ready"));
  }
  // The ready plugin <type>.<id> as a T.
  template <typename T>
  absl::StatusOr<std::shared_ptr<T>> GetById(const std::string& type, const std::string& id) const {
    for (const Instance* inst : All(type)) {
      if (inst->registration->id == id) return Cast<T>(*inst);
    }
    return absl::NotFoundError(absl::StrCat("plugin ", type, ".", id, " is not ready"));
  }
  // Every ready plugin of a type (declared or not: used by "*" requirers like introspection).
  std::vector<const Instance*> All(const std::string& type) const;

 private:
  template <typename T>
  static absl::StatusOr<std::shared_ptr<T>> Cast(const Instance& inst) {
    if (auto* p = std::any_cast<std::shared_ptr<T>>(&inst.value)) return *p;
    return absl::InternalError(absl::StrCat("plugin ", inst.registration->FullId(),
                                            " does not provide the requested interface"));
  }

  const Registration& self_;
  std::string root_;
  std::string state_;
  const std::vector<Instance>* ready_;
  Meta* meta_;
};

}  // namespace berth::plugin
