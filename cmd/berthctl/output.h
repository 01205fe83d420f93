// Output of berthctl: aligned tables for people, JSON for scripts (--format json), and error
// lines in one shape: "berthctl: <what failed>: <why>" plus a hint where one helps.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "nlohmann/json.hpp"

namespace google::protobuf {
class Timestamp;
}

namespace berth::ctl {

enum class Format { kTable, kJson };

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void Add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  // Columns padded to the widest cell, two spaces apart; the last column is not padded.
  std::string Render() const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Prints either `table` or `json` (pretty, one document) to stdout.
void Emit(Format format, const Table& table, const nlohmann::json& json);

// Prints "berthctl: <status message>" (+ "hint: ..." for well-known causes) to stderr and
// returns the exit code for it (1).
int ReportError(const absl::Status& status);

// "3 minutes ago"-style ages and RFC 3339 times for tables / JSON.
std::string Ago(absl::Time t, absl::Time now);
std::string Rfc3339(absl::Time t);
absl::Time FromTimestamp(const google::protobuf::Timestamp& ts);
// "12.3 MiB".
std::string Size(int64_t bytes);
// "sha256:0123456789ab" (12 hex digits, like docker's short ids).
std::string ShortDigest(const std::string& digest);

}  // namespace berth::ctl
