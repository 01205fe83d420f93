// Logging facade over spdlog: one logger per component, text or JSON output.
//
//   auto log = berth::log::Get("content");
//   log->info("commit {} ns={}", digest, ns);
//
// Fields (namespace, ids) go into the message as key=value pairs so text and JSON output both
// carry them. Never log an error and also return it: the caller decides.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "spdlog/spdlog.h"

namespace berth::log {

enum class Format { kText, kJson };

// Sets the process-wide level ("trace", "debug", "info", "warn", "error") and format, and sends
// all output to stderr. InvalidArgument for an unknown level.
absl::Status Init(absl::string_view level, Format format = Format::kText);

// The logger of one component, created on first use with the process-wide settings.
std::shared_ptr<spdlog::logger> Get(const std::string& component);

}  // namespace berth::log
