// User names resolved from an image's /etc/passwd and /etc/group (cri/passwd.h).
#include "cri/passwd.h"

#include <unistd.h>

#include "core/fs.h"
#include "gtest/gtest.h"

namespace berth::cri {
namespace {

constexpr char kPasswd[] =
    "# comment\n"
    "root:x:0:0:root:/root:/bin/sh\n"
    "broken line\n"
    "app:x:1234:2345:App:/home/app:/bin/sh\n"
    "num:x:1500:1501::/:/bin/false\n";
constexpr char kGroup[] = "root:x:0:\nstaff:x:50:app,other\nappgrp:x:2345:\nwheel:x:10:app\n";

TEST(Passwd, LookupByName) {
  auto u = LookupPasswd(kPasswd, "app");
  ASSERT_TRUE(u.ok()) << u.status();
  EXPECT_EQ(u->uid, 1234);
  EXPECT_EQ(u->gid, 2345);
  auto missing = LookupPasswd(kPasswd, "ghost");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  EXPECT_NE(missing.status().message().find("ghost"), absl::string_view::npos);
  EXPECT_TRUE(absl::IsNotFound(LookupPasswd(kPasswd, "broken line").status()));
}

TEST(Passwd, GroupsAndMembership) {
  EXPECT_EQ(*LookupGroup(kGroup, "staff"), 50);
  EXPECT_TRUE(absl::IsNotFound(LookupGroup(kGroup, "nogroup").status()));
  EXPECT_EQ(GroupsOfUser(kGroup, "app"), (std::vector<int64_t>{50, 10}));
  EXPECT_TRUE(GroupsOfUser(kGroup, "nobody").empty());
}

TEST(Passwd, UserSpecs) {
  auto a = ResolveUserSpec("app", kPasswd, kGroup);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->uid, 1234);
  EXPECT_EQ(a->gid, 2345);
  auto b = ResolveUserSpec("app:staff", kPasswd, kGroup);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->gid, 50);
  auto c = ResolveUserSpec("1500", kPasswd, kGroup);  // numeric uid: gid from passwd
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->gid, 1501);
  auto d = ResolveUserSpec("4242:77", kPasswd, kGroup);  // numeric, not listed
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->uid, 4242);
  EXPECT_EQ(d->gid, 77);
  EXPECT_TRUE(absl::IsNotFound(ResolveUserSpec("app:nogroup", kPasswd, kGroup).status()));
  EXPECT_TRUE(absl::IsNotFound(ResolveUserSpec("ghost", kPasswd, kGroup).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(ResolveUserSpec("", kPasswd, kGroup).status()));
  auto root = ResolveUserSpec("root", "", "");  // scratch image without /etc/passwd
  ASSERT_TRUE(root.ok());
  EXPECT_EQ(root->uid, 0);
}

TEST(Passwd, RootfsReadStaysInsideTheRootfs) {
  char tmpl[] = "/tmp/berth-passwd-XXXXXX";
  std::string root = ::mkdtemp(tmpl);
  ASSERT_TRUE(fs::MkdirAll(root + "/etc").ok());
  ASSERT_TRUE(fs::WriteFileAtomic(root + "/etc/passwd", kPasswd).ok());
  ASSERT_TRUE(fs::WriteFileAtomic(root + "/inner", "inside\n").ok());
  // An absolute symlink means the rootfs's own path, never the host's.
  ASSERT_EQ(::symlink("/inner", (root + "/etc/group").c_str()), 0);
  auto p = ReadRootfsFile(root, "etc/passwd");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(*p, kPasswd);
  auto g = ReadRootfsFile(root, "etc/group");
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_EQ(*g, "inside\n");
  EXPECT_TRUE(absl::IsNotFound(ReadRootfsFile(root, "etc/shadow").status()));
  ASSERT_TRUE(fs::RemoveAll(root).ok());
}

}  // namespace
}  // namespace berth::cri
