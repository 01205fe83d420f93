#include "core/rocks/logger.h"

#include <cstdarg>
#include <cstdio>
#include <vector>

#include "core/log.h"

namespace berth::rocks {
namespace {

class SpdLogger : public rocksdb::Logger {
 public:
  SpdLogger(std::string db_path, std::shared_ptr<spdlog::logger> out)
      : Logger(out->should_log(spdlog::level::trace) ? rocksdb::InfoLogLevel::INFO_LEVEL
                                                     : rocksdb::InfoLogLevel::WARN_LEVEL),
        db_path_(std::move(db_path)),
        out_(std::move(out)) {}

  using Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    char small[512];
    va_list again;
    va_copy(again, ap);
    int n = std::vsnprintf(small, sizeof(small), format, ap);
    std::string text;
    if (n >= static_cast<int>(sizeof(small))) {
      text.resize(static_cast<size_t>(n) + 1);
      std::vsnprintf(text.data(), text.size(), format, again);
      text.resize(static_cast<size_t>(n));
    } else if (n > 0) {
      text.assign(small, static_cast<size_t>(n));
    }
    va_end(again);
    out_->log(ToSpd(level), "db={} {}", db_path_, text);
  }

 private:
  static spdlog::level::level_enum ToSpd(rocksdb::InfoLogLevel level) {
    switch (level) {
      case rocksdb::InfoLogLevel::WARN_LEVEL: return spdlog::level::warn;
      case rocksdb::InfoLogLevel::ERROR_LEVEL: return spdlog::level::err;
      case rocksdb::InfoLogLevel::FATAL_LEVEL: return spdlog::level::critical;
      default: return spdlog::level::trace;  // INFO: an options dump, each flush
    }
  }

  std::string db_path_;
  std::shared_ptr<spdlog::logger> out_;
};

}  // namespace

std::shared_ptr<rocksdb::Logger> NewLogger(const std::string& db_path) {
  return std::make_shared<SpdLogger>(db_path, log::Get("rocksdb"));
}

}  // namespace berth::rocks
