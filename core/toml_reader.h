// Strict reading of one TOML table into a config struct: every key must be known.
//
//   TomlReader r(table, "plugins.\"io.containerd.gc.v1.scheduler\"");
//   r.Int("pause_threshold_percent", &cfg.pause_percent);
//   BERTH_RETURN_IF_ERROR(r.Finish());   // InvalidArgument naming unknown or mistyped keys
//
// A missing key keeps the field's default.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "toml++/toml.h"

namespace berth {

class TomlReader {
 public:
  // `where` names the table in error messages. `table` may be null (all defaults).
  TomlReader(const toml::table* table, std::string where);

  void String(const std::string& key, std::string* out);
  void Bool(const std::string& key, bool* out);
  void Int(const std::string& key, int64_t* out);
  void Int(const std::string& key, int* out);
  void Double(const std::string& key, double* out);
  void StringList(const std::string& key, std::vector<std::string>* out);
  void StringMap(const std::string& key, std::map<std::string, std::string>* out);
  // A sub-table, handed back for nested reading (null when absent).
  const toml::table* Table(const std::string& key);
  // Marks a key as known without reading it (for sections read elsewhere).
  void Allow(const std::string& key) { seen_.insert(key); }

  // The first error seen, or InvalidArgument for keys nobody read.
  absl::Status Finish() const;

 private:
  const toml::node* Lookup(const std::string& key, const char* want);

  const toml::table* table_;
  std::string where_;
  std::set<std::string> seen_;
  absl::Status error_;
};

}  // namespace berth
