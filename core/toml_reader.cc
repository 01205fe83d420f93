#include "core/toml_reader.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace berth {

TomlReader::TomlReader(const toml::table* table, std::string where)
    : table_(table), where_(std::move(where)) {}

const toml::node* TomlReader::Lookup(const std::string& key, const char* want) {
  seen_.insert(key);
  if (table_ == nullptr) return nullptr;
  const toml::node* node = table_->get(key);
  return node;
}

namespace {
absl::Status TypeError(const std::string& where, const std::string& key, const char* want) {
  return absl::InvalidArgumentError(
      absl::StrCat("config ", where, ": key \"", key, "\" must be ", want));
}
}  // namespace

void TomlReader::String(const std::string& key, std::string* out) {
  const toml::node* n = Lookup(key, "a string");
  if (n == nullptr) return;
  if (auto v = n->value<std::string>(); v && n->is_string()) {
    *out = *v;
  } else if (error_.ok()) {
    error_ = TypeError(where_, key, "a string");
  }
}

void TomlReader::Bool(const std::string& key, bool* out) {
  const toml::node* n = Lookup(key, "a boolean");
  if (n == nullptr) return;
  if (n->is_boolean()) {
    *out = *n->value<bool>();
  } else if (error_.ok()) {
    error_ = TypeError(where_, key, "a boolean");
  }
}

void TomlReader::Int(const std::string& key, int64_t* out) {
  const toml::node* n = Lookup(key, "an integer");
  if (n == nullptr) return;
  if (n->is_integer()) {
    *out = *n->value<int64_t>();
  } else if (error_.ok()) {
    error_ = TypeError(where_, key, "an integer");
  }
}

void TomlReader::Int(const std::string& key, int* out) {
  int64_t v = *out;
  Int(key, &v);
  *out = static_cast<int>(v);
}

void TomlReader::Double(const std::string& key, double* out) {
  const toml::node* n = Lookup(key, "a number");
  if (n == nullptr) return;
  if (n->is_floating_point() || n->is_integer()) {
    *out = *n->value<double>();
  } else if (error_.ok()) {
    error_ = TypeError(where_, key, "a number");
  }
}

void TomlReader::StringList(const std::string& key, std::vector<std::string>* out) {
  const toml::node* n = Lookup(key, "a list of strings");
  if (n == nullptr) return;
  const toml::array* arr = n->as_array();
  if (arr == nullptr || (!arr->empty() && !arr->is_homogeneous(toml::node_type::string))) {
    if (error_.ok()) error_ = TypeError(where_, key, "a list of strings");
    return;
  }
  out->clear();
  for (const auto& el : *arr) out->push_back(*el.value<std::string>());
}

void TomlReader::StringMap(const std::string& key, std::map<std::string, std::string>* out) {
  const toml::node* n = Lookup(key, "a table of strings");
  if (n == nullptr) return;
  const toml::table* t = n->as_table();
  if (t == nullptr) {
    if (error_.ok()) error_ = TypeError(where_, key, "a table of strings");
    return;
  }
  out->clear();
  for (const auto& [k, v] : *t) {
    if (!v.is_string()) {
      if (error_.ok()) error_ = TypeError(where_, absl::StrCat(key, ".", std::string(k.str())), "a string");
      return;
    }
    (*out)[std::string(k.str())] = *v.value<std::string>();
  }
}

const toml::table* TomlReader::Table(const std::string& key) {
  const toml::node* n = Lookup(key, "a table");
  if (n == nullptr) return nullptr;
  if (!n->is_table()) {
    if (error_.ok()) error_ = TypeError(where_, key, "a table");
    return nullptr;
  }
  return n->as_table();
}

absl::Status TomlReader::Finish() const {
  if (!error_.ok()) return error_;
  if (table_ == nullptr) return absl::OkStatus();
  std::vector<std::string> unknown;
  for (const auto& [k, v] : *table_) {
    if (!seen_.count(std::string(k.str()))) unknown.emplace_back(k.str());
  }
  if (!unknown.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("config ", where_, ": unknown key(s) \"",
                                                   absl::StrJoin(unknown, "\", \""), "\""));
  }
  return absl::OkStatus();
}

}  // namespace berth
