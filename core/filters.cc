#include "core/filters.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "re2/re2.h"

namespace berth::filters {
namespace {

enum class Op { kPresent, kEqual, kNotEqual, kMatch };

class Selector : public Filter {
 public:
  Selector(std::vector<std::string> path, Op op, std::string value, std::unique_ptr<RE2> re)
      : path_(std::move(path)), op_(op), value_(std::move(value)), re_(std::move(re)) {}
  bool Match(const Adaptor& adaptor) const override {
    std::optional<std::string> got = adaptor(path_);
    switch (op_) {
      case Op::kPresent:
        return got.has_value();
      case Op::kEqual:
        return got.has_value() && *got == value_;
      case Op::kNotEqual:
        return !got.has_value() || *got != value_;
      case Op::kMatch:
        return got.has_value() && RE2::PartialMatch(*got, *re_);
    }
    return false;
  }

 private:
  std::vector<std::string> path_;
  Op op_;
  std::string value_;
  std::unique_ptr<RE2> re_;  // kMatch only
};

class Combined : public Filter {
 public:
  Combined(bool all, std::vector<std::unique_ptr<Filter>> parts)
      : all_(all), parts_(std::move(parts)) {}
  bool Match(const Adaptor& adaptor) const override {
    if (parts_.empty()) return true;
    for (const auto& p : parts_) {
      if (p->Match(adaptor) != all_) return !all_;
    }
    return all_;
  }

 private:
  bool all_;
  std::vector<std::unique_ptr<Filter>> parts_;
};

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<std::unique_ptr<Filter>> ParseOr() {
    std::vector<std::unique_ptr<Filter>> alternatives;
    for (;;) {
      BERTH_ASSIGN_OR_RETURN(auto conj, ParseAnd());
      alternatives.push_back(std::move(conj));
      SkipSpace();
      if (AtEnd()) break;
      if (text_[pos_] != '|') return Error("'|', ',' or end of filter");
      ++pos_;
    }
    if (alternatives.size() == 1) return std::move(alternatives[0]);
    return std::unique_ptr<Filter>(new Combined(false, std::move(alternatives)));
  }

 private:
  absl::StatusOr<std::unique_ptr<Filter>> ParseAnd() {
    std::vector<std::unique_ptr<Filter>> selectors;
    for (;;) {
      BERTH_ASSIGN_OR_RETURN(auto sel, ParseSelector());
      selectors.push_back(std::move(sel));
      SkipSpace();
      if (AtEnd() || text_[pos_] != ',') break;
      ++pos_;
    }
    return std::unique_ptr<Filter>(new Combined(true, std::move(selectors)));
  }

  absl::StatusOr<std::unique_ptr<Filter>> ParseSelector() {
    std::vector<std::string> path;
    for (;;) {
      SkipSpace();
      BERTH_ASSIGN_OR_RETURN(std::string field, ParseField());
      path.push_back(std::move(field));
      if (!AtEnd() && text_[pos_] == '.') {
        ++pos_;
        continue;
      }
      break;
    }
    SkipSpace();
    Op op = Op::kPresent;
    if (Consume("==")) {
      op = Op::kEqual;
    } else if (Consume("!=")) {
      op = Op::kNotEqual;
    } else if (Consume("~=")) {
      op = Op::kMatch;
    }
    if (op == Op::kPresent) {
      return std::unique_ptr<Filter>(new Selector(std::move(path), op, "", nullptr));
    }
    SkipSpace();
    BERTH_ASSIGN_OR_RETURN(std::string value, ParseValue());
    std::unique_ptr<RE2> re;
    if (op == Op::kMatch) {
      // RE2 is Go's regexp syntax (containerd's) and matches in linear time with bounded
      // memory: a client's pattern can neither backtrack forever nor overflow the stack.
      // Matching costs up to pattern x value when the DFA's memory budget runs out: bound
      // the pattern (values are bounded by the label and identifier rules).
      constexpr size_t kMaxPattern = 4096;
      if (value.size() > kMaxPattern) {
        return absl::InvalidArgumentError(absl::StrCat("filter: regular expression longer than ",
                                                       kMaxPattern, " bytes"));
      }
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(1 << 20);
      re = std::make_unique<RE2>(value, options);
      if (!re->ok()) {
        return absl::InvalidArgumentError(absl::StrCat("filter \"", text_,
                                                       "\": bad regular expression \"", value,
                                                       "\": ", re->error()));
      }
    }
    return std::unique_ptr<Filter>(
        new Selector(std::move(path), op, std::move(value), std::move(re)));
  }

  absl::StatusOr<std::string> ParseField() {
    if (!AtEnd() && (text_[pos_] == '"' || text_[pos_] == '\'')) return ParseQuoted();
    size_t start = pos_;
    while (!AtEnd() && (absl::ascii_isalnum(static_cast<unsigned char>(text_[pos_])) ||
                        text_[pos_] == '_' || text_[pos_] == '-')) {
      ++pos_;
    }
    if (start == pos_) return Error("a field name");
    return std::string(text_.substr(start, pos_ - start));
  }

  absl::StatusOr<std::string> ParseValue() {
    if (!AtEnd() && (text_[pos_] == '"' || text_[pos_] == '\'')) return ParseQuoted();
    size_t start = pos_;
    while (!AtEnd() && !absl::ascii_isspace(static_cast<unsigned char>(text_[pos_])) &&
           text_[pos_] != ',' && text_[pos_] != '|') {
      ++pos_;
    }
    if (start == pos_) return Error("a value");
    return std::string(text_.substr(start, pos_ - start));
  }

  absl::StatusOr<std::string> ParseQuoted() {
    char quote = text_[pos_++];
    std::string out;
    while (!AtEnd() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out.push_back(text_[pos_++]);
    }
    if (AtEnd()) return Error(absl::StrCat("closing ", std::string(1, quote)));
    ++pos_;
    return out;
  }

  bool Consume(absl::string_view token) {
    if (text_.substr(pos_, token.size()) != token) return false;
    pos_ += token.size();
    return true;
  }
  void SkipSpace() {
    while (!AtEnd() && absl::ascii_isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool AtEnd() const { return pos_ >= text_.size(); }
  absl::Status Error(absl::string_view expected) const {
    return absl::InvalidArgumentError(absl::StrCat("filter \"", text_, "\": expected ", expected,
                                                   " at position ", pos_));
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Filter>> Parse(absl::string_view text) {
  return Parser(text).ParseOr();
}

absl::StatusOr<std::unique_ptr<Filter>> ParseAny(const std::vector<std::string>& texts) {
  std::vector<std::unique_ptr<Filter>> parts;
  for (const auto& t : texts) {
    if (t.empty()) continue;
    BERTH_ASSIGN_OR_RETURN(auto f, Parse(t));
    parts.push_back(std::move(f));
  }
  return std::unique_ptr<Filter>(new Combined(false, std::move(parts)));
}

}  // namespace berth::filters
