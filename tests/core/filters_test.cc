#include "core/filters.h"

#include <map>

#include "gtest/gtest.h"

namespace berth::filters {
namespace {

struct Obj {
  std::string name;
  std::map<std::string, std::string> labels;
};

Adaptor AdaptorOf(const Obj& o) {
  return [&o](const std::vector<std::string>& path) -> std::optional<std::string> {
    if (path.size() == 1 && path[0] == "name") return o.name;
    if (path.size() >= 2 && path[0] == "labels") {
      std::string key = path[1];
      for (size_t i = 2; i < path.size(); ++i) key += "." + path[i];
      auto it = o.labels.find(key);
      if (it != o.labels.end()) return it->second;
    }
    return std::nullopt;
  };
}

bool Matches(const std::string& f, const Obj& o) {
  auto parsed = Parse(f);
  EXPECT_TRUE(parsed.ok()) << f << ": " << parsed.status();
  return parsed.ok() && (*parsed)->Match(AdaptorOf(o));
}

TEST(Filters, Operators) {
  Obj o{"foo", {{"a.b", "xyz"}, {"env", "prod"}}};
  EXPECT_TRUE(Matches("name==foo", o));
  EXPECT_FALSE(Matches("name==bar", o));
  EXPECT_TRUE(Matches("name!=bar", o));
  EXPECT_TRUE(Matches("name~=^f", o));
  EXPECT_FALSE(Matches("name~=^x", o));
  EXPECT_TRUE(Matches("labels.\"a.b\"==xyz", o));
  EXPECT_TRUE(Matches("labels.a.b==xyz", o));
  EXPECT_TRUE(Matches("labels.env", o));
  EXPECT_FALSE(Matches("labels.nope", o));
}

TEST(Filters, AndOr) {
  Obj o{"foo", {{"env", "prod"}}};
  EXPECT_TRUE(Matches("name==foo,labels.env==prod", o));
  EXPECT_FALSE(Matches("name==foo,labels.env==dev", o));
  EXPECT_TRUE(Matches("name==bar|labels.env==prod", o));
  EXPECT_TRUE(Matches("name == \"foo\" , labels.env == 'prod'", o));
  auto any = ParseAny({"name==bar", "name==foo"});
  ASSERT_TRUE(any.ok());
  EXPECT_TRUE((*any)->Match(AdaptorOf(o)));
  auto none = ParseAny({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE((*none)->Match(AdaptorOf(o)));
}

TEST(Filters, ErrorsAreClear) {
  for (const char* bad : {"", "name==", "==x", "name==\"open", "name~=(", "name==a,"}) {
    auto f = Parse(bad);
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_NE(Parse("name==").status().message().find("expected a value"), absl::string_view::npos);
}

// A client's pattern must not take the daemon down: std::regex recursed once per group and
// backtracked exponentially. RE2 (Go's syntax, like containerd) does neither.
TEST(Filters, HostileRegularExpressionsAreSafe) {
  std::string deep = "name~=" + std::string(30000, '(') + "a" + std::string(30000, ')');
  auto f = Parse(deep);
  if (f.ok()) {
    Obj o{"a", {}};
    EXPECT_TRUE((*f)->Match(AdaptorOf(o)));
  } else {
    EXPECT_EQ(f.status().code(), absl::StatusCode::kInvalidArgument);
  }
  auto blowup = Parse("name~=^(a*)*b$");
  ASSERT_TRUE(blowup.ok()) << blowup.status();
  Obj long_name{std::string(100000, 'a'), {}};
  EXPECT_FALSE((*blowup)->Match(AdaptorOf(long_name)));
  // Go syntax: (?i) flags and \d classes work; backreferences are refused clearly.
  Obj mixed{"Foo42", {}};
  EXPECT_TRUE(Matches("name~=(?i)^foo\\d+$", mixed));
  EXPECT_EQ(Parse("name~=(a)\\1").status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::filters
