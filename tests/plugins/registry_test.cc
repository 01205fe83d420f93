#include "plugins/registry/registry.h"

#include "core/toml_reader.h"
#include "gtest/gtest.h"

namespace berth::plugin {
namespace {

struct Counter {
  int value = 0;
};

struct CounterConfig {
  int64_t start = 7;
  static absl::StatusOr<CounterConfig> FromToml(const toml::table* section) {
    CounterConfig cfg;
    TomlReader r(section, "counter");
    r.Int("start", &cfg.start);
    BERTH_RETURN_IF_ERROR(r.Finish());
    return cfg;
  }
  absl::Status Validate() const {
    return start < 0 ? absl::InvalidArgumentError("start must be >= 0") : absl::OkStatus();
  }
  toml::table ToToml() const { return toml::table{{"start", start}}; }
};

Registration CounterPlugin(std::string type, std::string id, std::vector<std::string> requires_types,
                           std::vector<std::string>* order, bool fail = false) {
  return Make<Counter, CounterConfig>(
      {.type = type, .id = id, .requires_types = requires_types},
      [=](InitContext& ctx, const CounterConfig& cfg) -> absl::StatusOr<std::shared_ptr<Counter>> {
        order->push_back(type + "." + id);
        if (fail) return absl::UnavailableError("host does not support it");
        int base = static_cast<int>(cfg.start);
        for (const auto& t : requires_types) {
          auto dep = ctx.Get<Counter>(t);
          if (dep.ok()) base += (*dep)->value;
        }
        ctx.meta().exports["root"] = ctx.root();
        return std::make_shared<Counter>(Counter{base});
      });
}

TEST(Registry, InitsInDependencyOrder) {
  std::vector<std::string> order;
  Registry reg;
  ASSERT_TRUE(reg.Add(CounterPlugin("t.grpc", "svc", {"t.content"}, &order)).ok());
  ASSERT_TRUE(reg.Add(CounterPlugin("t.content", "local", {}, &order)).ok());
  DaemonConfig cfg;
  cfg.root = "/r";
  ASSERT_TRUE(reg.InitAll(cfg).ok());
  EXPECT_EQ(order, (std::vector<std::string>{"t.content.local", "t.grpc.svc"}));
  auto svc = reg.Find<Counter>("t.grpc", "svc");
  ASSERT_NE(svc, nullptr);
  EXPECT_EQ(svc->value, 14);
  EXPECT_EQ(reg.statuses()[0].meta.exports.at("root"), "/r/t.content.local");
}

TEST(Registry, DuplicateIsAlreadyExists) {
  std::vector<std::string> order;
  Registry reg;
  ASSERT_TRUE(reg.Add(CounterPlugin("t", "a", {}, &order)).ok());
  EXPECT_EQ(reg.Add(CounterPlugin("t", "a", {}, &order)).code(), absl::StatusCode::kAlreadyExists);
}

TEST(Registry, CycleIsAnError) {
  std::vector<std::string> order;
  Registry reg;
  ASSERT_TRUE(reg.Add(CounterPlugin("a", "x", {"b"}, &order)).ok());
  ASSERT_TRUE(reg.Add(CounterPlugin("b", "y", {"a"}, &order)).ok());
  auto status = reg.InitAll(DaemonConfig{});
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(status.message().find("a.x"), absl::string_view::npos);
}

TEST(Registry, FailedPluginIsSkippedAndDependentsToo) {
  std::vector<std::string> order;
  Registry reg;
  ASSERT_TRUE(reg.Add(CounterPlugin("snap", "zfs", {}, &order, /*fail=*/true)).ok());
  ASSERT_TRUE(reg.Add(CounterPlugin("svc", "snapshots", {"snap"}, &order)).ok());
  ASSERT_TRUE(reg.Add(CounterPlugin("other", "ok", {}, &order)).ok());
  ASSERT_TRUE(reg.InitAll(DaemonConfig{}).ok());
  ASSERT_EQ(reg.statuses().size(), 3u);
  EXPECT_EQ(reg.statuses()[0].init_error.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(reg.statuses()[1].init_error.message().find("no plugin of type snap"),
            absl::string_view::npos);
  EXPECT_TRUE(reg.statuses()[2].init_error.ok());
}

TEST(Registry, ConfigSectionsAreStrict) {
  std::vector<std::string> order;
  Registry reg;
  ASSERT_TRUE(reg.Add(CounterPlugin("t", "a", {}, &order)).ok());
  auto cfg = DaemonConfig::Parse("[plugins.\"t.a\"]\nstart = 3\n", "t");
  ASSERT_TRUE(cfg.ok());
  ASSERT_TRUE(reg.InitAll(*cfg).ok());
  EXPECT_EQ(reg.Find<Counter>("t", "a")->value, 3);

  Registry bad_key;
  ASSERT_TRUE(bad_key.Add(CounterPlugin("t", "a", {}, &order)).ok());
  auto typo = DaemonConfig::Parse("[plugins.\"t.a\"]\nstrat = 3\n", "t");
  auto s = bad_key.InitAll(*typo);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("strat"), absl::string_view::npos);

  Registry unknown;
  ASSERT_TRUE(unknown.Add(CounterPlugin("t", "a", {}, &order)).ok());
  auto nosuch = DaemonConfig::Parse("[plugins.\"t.zzz\"]\n", "t");
  EXPECT_EQ(unknown.InitAll(*nosuch).code(), absl::StatusCode::kInvalidArgument);
}

TEST(Registry, DisabledPluginIsSkipped) {
  std::vector<std::string> order;
  Registry reg;
  ASSERT_TRUE(reg.Add(CounterPlugin("t", "a", {}, &order)).ok());
  DaemonConfig cfg;
  cfg.disabled_plugins = {"t.a"};
  ASSERT_TRUE(reg.InitAll(cfg).ok());
  EXPECT_TRUE(order.empty());
  EXPECT_FALSE(reg.statuses()[0].init_error.ok());
}

TEST(Registry, DefaultConfigListsEveryPlugin) {
  std::vector<std::string> order;
  Registry reg;
  ASSERT_TRUE(reg.Add(CounterPlugin("t", "a", {}, &order)).ok());
  std::string text = reg.DefaultConfigToml(DaemonConfig{});
  auto parsed = DaemonConfig::Parse(text, "default");
  ASSERT_TRUE(parsed.ok()) << text;
  ASSERT_EQ(parsed->plugins.count("t.a"), 1u) << text;
  EXPECT_EQ(parsed->plugins.at("t.a")["start"].value<int64_t>(), 7);
}

}  // namespace
}  // namespace berth::plugin
