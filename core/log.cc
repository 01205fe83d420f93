#include "core/log.h"

#include <mutex>

#include "absl/strings/str_cat.h"
#include "spdlog/sinks/stdout_sinks.h"

namespace berth::log {
namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}

struct Settings {
  spdlog::level::level_enum level = spdlog::level::info;
  Format format = Format::kText;
};

Settings& Current() {
  static Settings settings;
  return settings;
}

void Apply(spdlog::logger& logger) {
  logger.set_level(Current().level);
  if (Current().format == Format::kJson) {
    logger.set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","component":"%n","msg":"%v"})",
        spdlog::pattern_time_type::utc);
  } else {
    logger.set_pattern("%Y-%m-%dT%H:%M:%S.%f %^%-5l%$ [%n] %v");
  }
}

}  // namespace

absl::Status Init(absl::string_view level, Format format) {
  auto parsed = spdlog::level::from_str(std::string(level));
  // from_str maps unknown names to "off"; only accept "off" when asked for.
  if (parsed == spdlog::level::off && level != "off") {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown log level \"", level, "\" (want trace|debug|info|warn|error)"));
  }
  std::lock_guard<std::mutex> lock(Mu());
  Current().level = parsed;
  Current().format = format;
  spdlog::apply_all([](const std::shared_ptr<spdlog::logger>& l) { Apply(*l); });
  return absl::OkStatus();
}

std::shared_ptr<spdlog::logger> Get(const std::string& component) {
  std::lock_guard<std::mutex> lock(Mu());
  if (auto existing = spdlog::get(component)) return existing;
  auto logger = std::make_shared<spdlog::logger>(
      component, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  Apply(*logger);
  spdlog::register_logger(logger);
  return logger;
}

}  // namespace berth::log
