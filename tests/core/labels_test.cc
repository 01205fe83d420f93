#include "core/labels.h"

#include "gtest/gtest.h"

namespace berth {
namespace {

TEST(ApplyMapPath, SetsRemovesAndReplaces) {
  Labels to{{"a", "1"}, {"b", "2"}};
  EXPECT_TRUE(ApplyMapPath("labels.c", "labels", {{"c", "3"}}, &to));
  EXPECT_TRUE(ApplyMapPath("labels.a", "labels", {{"a", ""}}, &to));
  EXPECT_TRUE(ApplyMapPath("labels.b", "labels", {}, &to));
  EXPECT_EQ(to, (Labels{{"c", "3"}}));
  EXPECT_TRUE(ApplyMapPath("labels", "labels", {{"x", "y"}}, &to));
  EXPECT_EQ(to, (Labels{{"x", "y"}}));
  EXPECT_FALSE(ApplyMapPath("labelsx.a", "labels", {}, &to));
  EXPECT_FALSE(ApplyMapPath("labels.", "labels", {}, &to));
  EXPECT_FALSE(ApplyMapPath("name", "labels", {}, &to));
}

TEST(LabelForFilterPath, JoinsDottedKeys) {
  Labels l{{"a.b", "1"}, {"c", "2"}};
  EXPECT_EQ(LabelForFilterPath(l, {"labels", "a", "b"}), "1");
  EXPECT_EQ(LabelForFilterPath(l, {"labels", "c"}), "2");
  EXPECT_EQ(LabelForFilterPath(l, {"labels", "d"}), std::nullopt);
  EXPECT_EQ(LabelForFilterPath(l, {"name"}), std::nullopt);
}

}  // namespace
}  // namespace berth
