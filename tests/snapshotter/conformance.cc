#include "tests/snapshotter/conformance.h"

#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "core/fs.h"
#include "core/mount/mountinfo.h"
#include "core/mount/temp_mount.h"

namespace berth::snapshotter::testing {
namespace {

namespace stdfs = std::filesystem;

constexpr char kNs[] = "default";
constexpr char kNs2[] = "other";

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path);
  ASSERT_TRUE(out.is_open()) << path;
  out << data;
}

std::string ReadOr(const std::string& path, const std::string& fallback = "<missing>") {
  auto r = fs::ReadFile(path);
  return r.ok() ? *r : fallback;
}

bool HasOption(const mount::Mount& m, const std::string& opt) {
  return std::find(m.options.begin(), m.options.end(), opt) != m.options.end();
}

// The directory behind a single bind mount: lets unprivileged tests write into a snapshot.
std::string BindSource(const std::vector<mount::Mount>& mounts) {
  EXPECT_EQ(mounts.size(), 1u);
  if (mounts.size() != 1) return "/nonexistent";
  EXPECT_EQ(mounts[0].type, "bind");
  return mounts[0].source;
}

std::set<std::string> SnapshotDirs(const std::string& root) {
  std::set<std::string> out;
  for (const auto& e : stdfs::directory_iterator(root + "/snapshots")) {
    out.insert(e.path().filename().string());
  }
  return out;
}

}  // namespace

void SnapshotterTestBase::SetUp() {
  char tmpl[] = "/tmp/berth-snapshotter-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  root_ = tmpl;
  auto s = GetParam().open(root_);
  ASSERT_TRUE(s.ok()) << s.status();
  sn_ = *std::move(s);
}

void SnapshotterTestBase::TearDown() {
  sn_.reset();
  if (!root_.empty()) {
    if (::geteuid() == 0) (void)mount::UnmountRecursive(root_);
    std::error_code ec;
    stdfs::remove_all(root_, ec);
  }
}

void SnapshotterTestBase::Reopen() {
  sn_.reset();
  auto s = GetParam().open(root_);
  ASSERT_TRUE(s.ok()) << s.status();
  sn_ = *std::move(s);
}

// ---------------------------------------------------------------- metadata rules (unprivileged)

TEST_P(SnapshotterConformance, PrepareCommitViewLifecycle) {
  auto m = sn_->Prepare(kNs, "a", "", {{"k", "v"}});
  ASSERT_TRUE(m.ok()) << m.status();
  ASSERT_EQ(m->size(), 1u);
  EXPECT_EQ((*m)[0].type, "bind");
  EXPECT_TRUE(HasOption((*m)[0], "rw"));
  EXPECT_TRUE(HasOption((*m)[0], "rbind"));
  EXPECT_TRUE(stdfs::is_directory((*m)[0].source));
  auto info = sn_->Stat(kNs, "a");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->name, "a");
  EXPECT_EQ(info->kind, Kind::kActive);
  EXPECT_EQ(info->parent, "");
  EXPECT_EQ(info->labels.at("k"), "v");
  EXPECT_GT(info->created, absl::UnixEpoch());

  ASSERT_TRUE(sn_->Commit(kNs, "base", "a", {{"c", "1"}}).ok());
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat(kNs, "a").status()));
  auto base = sn_->Stat(kNs, "base");
  ASSERT_TRUE(base.ok());
  EXPECT_EQ(base->kind, Kind::kCommitted);
  EXPECT_EQ(base->labels.at("c"), "1");

  ASSERT_TRUE(sn_->Prepare(kNs, "b", "base").ok());
  EXPECT_EQ(sn_->Stat(kNs, "b")->parent, "base");
  ASSERT_TRUE(sn_->Commit(kNs, "top", "b").ok());
  EXPECT_EQ(sn_->Stat(kNs, "top")->parent, "base");  // Committed keeps the Active's parent

  auto v = sn_->View(kNs, "v", "top");
  ASSERT_TRUE(v.ok()) << v.status();
  EXPECT_EQ(sn_->Stat(kNs, "v")->kind, Kind::kView);
  ASSERT_FALSE(v->empty());
  EXPECT_TRUE(HasOption((*v)[0], "ro"));
  auto v0 = sn_->View(kNs, "v0", "");
  ASSERT_TRUE(v0.ok());
  EXPECT_TRUE(HasOption((*v0)[0], "ro"));
}

TEST_P(SnapshotterConformance, CommitRules) {
  ASSERT_TRUE(sn_->Prepare(kNs, "a", "").ok());
  ASSERT_TRUE(sn_->Commit(kNs, "base", "a").ok());
  ASSERT_TRUE(sn_->View(kNs, "view", "base").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Commit(kNs, "x", "view")));
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Commit(kNs, "y", "base")));
  EXPECT_TRUE(absl::IsNotFound(sn_->Commit(kNs, "z", "missing")));
  ASSERT_TRUE(sn_->Prepare(kNs, "b", "base").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->Commit(kNs, "base", "b")));
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->Commit(kNs, "view", "b")));
  EXPECT_EQ(sn_->Stat(kNs, "b")->kind, Kind::kActive);  // failed commit changed nothing
}

TEST_P(SnapshotterConformance, PrepareAndViewRules) {
  ASSERT_TRUE(sn_->Prepare(kNs, "active", "").ok());
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->Prepare(kNs, "active", "").status()));
  EXPECT_TRUE(absl::IsAlreadyExists(sn_->View(kNs, "active", "").status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Prepare(kNs, "c", "missing").status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->View(kNs, "c", "missing").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Prepare(kNs, "c", "active").status()));
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->View(kNs, "c", "active").status()));
  ASSERT_TRUE(sn_->View(kNs, "view", "").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Prepare(kNs, "c", "view").status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat(kNs, "c").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(sn_->Prepare(kNs, "", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(sn_->Prepare("bad/ns", "k", "").status()));
  EXPECT_TRUE(absl::IsInvalidArgument(sn_->Prepare(kNs, "k", "", {{"", "v"}}).status()));
  // Failed creations left no directories behind.
  EXPECT_EQ(SnapshotDirs(root_).size(), 2u);
}

TEST_P(SnapshotterConformance, MountsRules) {
  auto prepared = sn_->Prepare(kNs, "a", "");
  ASSERT_TRUE(prepared.ok());
  auto again = sn_->Mounts(kNs, "a");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *prepared);
  ASSERT_TRUE(sn_->Commit(kNs, "base", "a").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Mounts(kNs, "base").status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Mounts(kNs, "a").status()));
  auto view = sn_->View(kNs, "v", "base");
  ASSERT_TRUE(view.ok());
  EXPECT_EQ(*sn_->Mounts(kNs, "v"), *view);
}

TEST_P(SnapshotterConformance, RemoveRules) {
  EXPECT_TRUE(absl::IsNotFound(sn_->Remove(kNs, "missing")));
  ASSERT_TRUE(sn_->Prepare(kNs, "a", "").ok());
  ASSERT_TRUE(sn_->Commit(kNs, "base", "a").ok());
  ASSERT_TRUE(sn_->Prepare(kNs, "child", "base").ok());
  ASSERT_TRUE(sn_->View(kNs, "view", "base").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Remove(kNs, "base")));
  ASSERT_TRUE(sn_->Remove(kNs, "child").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Remove(kNs, "base")));  // the view is a child
  ASSERT_TRUE(sn_->Remove(kNs, "view").ok());
  ASSERT_TRUE(sn_->Remove(kNs, "base").ok());
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat(kNs, "base").status()));
  ASSERT_TRUE(sn_->Prepare(kNs, "base", "").ok());  // the key is free again
  // A committed child also blocks its parent.
  ASSERT_TRUE(sn_->Commit(kNs, "l1", "base").ok());
  ASSERT_TRUE(sn_->Prepare(kNs, "x", "l1").ok());
  ASSERT_TRUE(sn_->Commit(kNs, "l2", "x").ok());
  EXPECT_TRUE(absl::IsFailedPrecondition(sn_->Remove(kNs, "l1")));
  ASSERT_TRUE(sn_->Remove(kNs, "l2").ok());
  ASSERT_TRUE(sn_->Remove(kNs, "l1").ok());
}

TEST_P(SnapshotterConformance, NamespacesAreSeparate) {
  auto m1 = sn_->Prepare(kNs, "sha256:chain", "");
  auto m2 = sn_->Prepare(kNs2, "sha256:chain", "");
  ASSERT_TRUE(m1.ok() && m2.ok());
  EXPECT_NE(BindSource(*m1), BindSource(*m2));
  WriteFile(BindSource(*m1) + "/only-in-default", "1");
  EXPECT_FALSE(stdfs::exists(BindSource(*m2) + "/only-in-default"));
  ASSERT_TRUE(sn_->Commit(kNs, "layer", "sha256:chain").ok());
  EXPECT_EQ(sn_->Stat(kNs2, "sha256:chain")->kind, Kind::kActive);
  EXPECT_TRUE(absl::IsNotFound(sn_->Stat(kNs2, "layer").status()));
  EXPECT_TRUE(absl::IsNotFound(sn_->Prepare(kNs2, "child", "layer").status()));
  ASSERT_TRUE(sn_->Prepare(kNs, "child", "layer").ok());
  EXPECT_TRUE(sn_->Remove(kNs2, "sha256:chain").ok());
  EXPECT_TRUE(sn_->Stat(kNs, "layer").ok());
  int count = 0;
  ASSERT_TRUE(sn_->Walk(kNs2, [&](const Info&) { ++count; return absl::OkStatus(); }).ok());
  EXPECT_EQ(count, 0);
  ASSERT_TRUE(sn_->Walk(kNs, [&](const Info&) { ++count; return absl::OkStatus(); }).ok());
  EXPECT_EQ(count, 2);
}

TEST_P(SnapshotterConformance, UsageCountsHardlinksOnce) {
  auto m = sn_->Prepare(kNs, "u", "");
  ASSERT_TRUE(m.ok());
  auto empty = sn_->Usage(kNs, "u");
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->inodes, 1);  // the root directory
  const std::string dir = BindSource(*m);
  WriteFile(dir + "/big", std::string(64 * 1024, 'x'));
  ASSERT_EQ(::link((dir + "/big").c_str(), (dir + "/big-link").c_str()), 0);
  ASSERT_TRUE(stdfs::create_directory(dir + "/sub"));
  WriteFile(dir + "/sub/small", "s");
  auto u = sn_->Usage(kNs, "u");
  ASSERT_TRUE(u.ok());
  EXPECT_EQ(u->inodes, 4);  // root, big (+link), sub, small
  EXPECT_GE(u->size, 64 * 1024);
  EXPECT_LT(u->size, 2 * 64 * 1024);  // the hardlink is not counted twice
  ASSERT_TRUE(sn_->Commit(kNs, "c", "u").ok());
  auto committed = sn_->Usage(kNs, "c");
  ASSERT_TRUE(committed.ok());
  EXPECT_EQ(committed->inodes, u->inodes);
  EXPECT_EQ(committed->size, u->size);
  EXPECT_TRUE(absl::IsNotFound(sn_->Usage(kNs, "u").status()));
}

TEST_P(SnapshotterConformance, WalkWithFilter) {
  ASSERT_TRUE(sn_->Prepare(kNs, "a", "", {{"team", "x"}}).ok());
  ASSERT_TRUE(sn_->Commit(kNs, "c1", "a", {{"team", "y"}}).ok());
  ASSERT_TRUE(sn_->Prepare(kNs, "b", "c1", {{"team", "x"}}).ok());
  ASSERT_TRUE(sn_->View(kNs, "v", "c1").ok());
  std::vector<std::string> names;
  auto collect = [&](const Info& i) {
    names.push_back(i.name);
    return absl::OkStatus();
  };
  ASSERT_TRUE(sn_->Walk(kNs, collect).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"b", "c1", "v"}));
  names.clear();
  ASSERT_TRUE(sn_->Walk(kNs, collect, [](const Info& i) { return i.kind == Kind::kCommitted; })
                  .ok());
  EXPECT_EQ(names, (std::vector<std::string>{"c1"}));
  names.clear();
  ASSERT_TRUE(sn_->Walk(kNs, collect, [](const Info& i) {
                   auto it = i.labels.find("team");
                   return it != i.labels.end() && it->second == "x";
                 }).ok());
  EXPECT_EQ(names, (std::vector<std::string>{"b"}));
  int calls = 0;
  absl::Status st = sn_->Walk(kNs, [&](const Info&) {
    ++calls;
    return absl::CancelledError("stop");
  });
  EXPECT_TRUE(absl::IsCancelled(st));
  EXPECT_EQ(calls, 1);
}

TEST_P(SnapshotterConformance, UpdateLabels) {
  ASSERT_TRUE(sn_->Prepare(kNs, "a", "", {{"a", "1"}, {"b", "2"}}).ok());
  Info in;
  in.name = "a";
  in.labels = {{"a", "x"}, {"ignored", "y"}};
  auto out = sn_->Update(kNs, in, {"labels.a"});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->labels, (Labels{{"a", "x"}, {"b", "2"}}));
  in.labels = {};
  out = sn_->Update(kNs, in, {"labels.b"});  // absent in info -> deleted
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->labels, (Labels{{"a", "x"}}));
  in.labels = {{"c", "3"}};
  out = sn_->Update(kNs, in, {});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->labels, (Labels{{"c", "3"}}));
  in.labels = {{"d", "4"}};
  out = sn_->Update(kNs, in, {"labels"});
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->labels, (Labels{{"d", "4"}}));
  EXPECT_GE(out->updated, out->created);
  EXPECT_EQ(sn_->Stat(kNs, "a")->labels, (Labels{{"d", "4"}}));
  EXPECT_TRUE(absl::IsInvalidArgument(sn_->Update(kNs, in, {"parent"}).status()));
  EXPECT_TRUE(absl::IsInvalidArgument(sn_->Update(kNs, in, {"name"}).status()));
  EXPECT_EQ(sn_->Stat(kNs, "a")->labels, (Labels{{"d", "4"}}));
  in.name = "missing";
  EXPECT_TRUE(absl::IsNotFound(sn_->Update(kNs, in, {}).status()));
}

TEST_P(SnapshotterConformance, CleanupRemovesOnlyOrphans) {
  auto keep = sn_->Prepare(kNs, "keep", "");
  ASSERT_TRUE(keep.ok());
  WriteFile(BindSource(*keep) + "/data", "precious");
  ASSERT_TRUE(sn_->Prepare(kNs, "gone", "").ok());
  const auto before = SnapshotDirs(root_);
  ASSERT_EQ(before.size(), 2u);
  ASSERT_TRUE(sn_->Remove(kNs, "gone").ok());
  ASSERT_TRUE(stdfs::create_directories(root_ + "/snapshots/99999/fs/deep"));
  WriteFile(root_ + "/snapshots/99999/fs/deep/f", "orphan");
  ASSERT_TRUE(stdfs::create_directories(root_ + "/snapshots/not-a-number"));
  ASSERT_TRUE(sn_->Cleanup().ok());
  EXPECT_EQ(SnapshotDirs(root_).size(), 1u);
  EXPECT_EQ(ReadOr(BindSource(*keep) + "/data"), "precious");
  // A crash-leftover id is never reused: the next snapshot gets a fresh directory.
  ASSERT_TRUE(stdfs::create_directories(root_ + "/snapshots/" +
                                        std::to_string(before.size() + 1) + "/fs"));
  WriteFile(root_ + "/snapshots/" + std::to_string(before.size() + 1) + "/fs/stale", "x");
  auto fresh = sn_->Prepare(kNs, "fresh", "");
  ASSERT_TRUE(fresh.ok());
  EXPECT_FALSE(stdfs::exists(BindSource(*fresh) + "/stale"));
}

TEST_P(SnapshotterConformance, PersistsAcrossReopen) {
  auto a = sn_->Prepare(kNs, "a", "");
  ASSERT_TRUE(a.ok());
  WriteFile(BindSource(*a) + "/f", "v1");
  ASSERT_TRUE(sn_->Commit(kNs, "base", "a", {{"l", "1"}}).ok());
  auto child = sn_->Prepare(kNs2, "x", "", {{"m", "2"}});
  ASSERT_TRUE(child.ok());
  auto base_before = sn_->Stat(kNs, "base");
  auto usage_before = sn_->Usage(kNs, "base");
  ASSERT_TRUE(base_before.ok() && usage_before.ok());
  Reopen();
  auto base = sn_->Stat(kNs, "base");
  ASSERT_TRUE(base.ok()) << base.status();
  EXPECT_EQ(base->kind, Kind::kCommitted);
  EXPECT_EQ(base->labels, base_before->labels);
  EXPECT_EQ(base->created, base_before->created);
  EXPECT_EQ(sn_->Usage(kNs, "base")->size, usage_before->size);
  auto x = sn_->Stat(kNs2, "x");
  ASSERT_TRUE(x.ok());
  EXPECT_EQ(x->labels.at("m"), "2");
  EXPECT_EQ(*sn_->Mounts(kNs2, "x"), *child);
  auto next = sn_->Prepare(kNs, "next", "base");
  ASSERT_TRUE(next.ok());
  for (const auto& m : *next) EXPECT_NE(m.source, BindSource(*child));
  EXPECT_EQ(SnapshotDirs(root_).size(), 3u);
}

TEST_P(SnapshotterConformance, ConcurrentPreparesGetDistinctSnapshots) {
  ASSERT_TRUE(sn_->Prepare(kNs, "a", "").ok());
  ASSERT_TRUE(sn_->Commit(kNs, "base", "a").ok());
  constexpr int kThreads = 4, kPerThread = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0}, dup_ok{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = "k" + std::to_string(t) + "-" + std::to_string(i);
        if (!sn_->Prepare(kNs, key, i % 2 == 0 ? "" : "base").ok()) ++failures;
      }
      if (sn_->Prepare(kNs, "same", "base").ok()) ++dup_ok;  // exactly one may win
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(dup_ok.load(), 1);
  int count = 0;
  ASSERT_TRUE(sn_->Walk(kNs, [&](const Info&) { ++count; return absl::OkStatus(); }).ok());
  EXPECT_EQ(count, kThreads * kPerThread + 2);
  // One directory per snapshot: losers of the race cleaned up after themselves.
  EXPECT_EQ(SnapshotDirs(root_).size(), static_cast<size_t>(kThreads * kPerThread + 2));
}

// ---------------------------------------------------------------- through real mounts (root)

void SnapshotterMountConformance::SetUp() {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root (CAP_SYS_ADMIN) to mount snapshots";
  static bool unshared = false;
  if (!unshared) {
    // A private mount namespace: nothing these tests mount is visible outside, and all of it
    // disappears with the process even if a test dies half-way.
    ASSERT_EQ(::unshare(CLONE_NEWNS), 0) << strerror(errno);
    ASSERT_EQ(::mount("", "/", "", MS_REC | MS_PRIVATE, nullptr), 0) << strerror(errno);
    unshared = true;
  }
  SnapshotterTestBase::SetUp();
}

namespace {

// Mounts `mounts` on a temporary directory and runs fn on it.
void WithMounted(const std::vector<mount::Mount>& mounts,
                 const std::function<void(const std::string&)>& fn) {
  absl::Status st = mount::WithTempMount(mounts, [&](const std::string& root) {
    fn(root);
    return absl::OkStatus();
  });
  ASSERT_TRUE(st.ok()) << st;
}

// Prepare `key` on `parent`, let fn change it through a mount, commit as `name`.
void MakeLayer(Snapshotter& sn, const std::string& name, const std::string& parent,
               const std::function<void(const std::string&)>& fn) {
  const std::string key = name + "-active";
  auto m = sn.Prepare(kNs, key, parent);
  ASSERT_TRUE(m.ok()) << m.status();
  WithMounted(*m, fn);
  absl::Status st = sn.Commit(kNs, name, key);
  ASSERT_TRUE(st.ok()) << st;
}

std::string OptionValue(const mount::Mount& m, const std::string& name) {
  for (const auto& o : m.options) {
    if (o.rfind(name + "=", 0) == 0) return o.substr(name.size() + 1);
  }
  return "";
}

}  // namespace

TEST_P(SnapshotterMountConformance, LayersStackAndDeletionsShow) {
  MakeLayer(*sn_, "l1", "", [](const std::string& r) {
    WriteFile(r + "/a", "a1");
    stdfs::create_directories(r + "/dir");
    WriteFile(r + "/dir/b", "b1");
    WriteFile(r + "/keep", "k");
  });
  MakeLayer(*sn_, "l2", "l1", [](const std::string& r) {
    EXPECT_EQ(ReadOr(r + "/dir/b"), "b1");  // the parent is visible in the child
    WriteFile(r + "/a", "a2");
    WriteFile(r + "/c", "c2");
    stdfs::remove(r + "/dir/b");
  });
  MakeLayer(*sn_, "l3", "l2", [](const std::string& r) {
    WriteFile(r + "/d", "d3");
    stdfs::remove(r + "/c");
  });
  auto v = sn_->View(kNs, "v3", "l3");
  ASSERT_TRUE(v.ok());
  WithMounted(*v, [](const std::string& r) {
    EXPECT_EQ(ReadOr(r + "/a"), "a2");
    EXPECT_EQ(ReadOr(r + "/keep"), "k");
    EXPECT_EQ(ReadOr(r + "/d"), "d3");
    EXPECT_FALSE(stdfs::exists(r + "/c"));
    EXPECT_FALSE(stdfs::exists(r + "/dir/b"));
    EXPECT_TRUE(stdfs::is_directory(r + "/dir"));
  });
  auto v1 = sn_->View(kNs, "v1", "l1");  // lower layers are unchanged
  ASSERT_TRUE(v1.ok());
  WithMounted(*v1, [](const std::string& r) {
    EXPECT_EQ(ReadOr(r + "/a"), "a1");
    EXPECT_EQ(ReadOr(r + "/dir/b"), "b1");
    EXPECT_FALSE(stdfs::exists(r + "/c"));
  });
  auto v2 = sn_->View(kNs, "v2", "l2");
  ASSERT_TRUE(v2.ok());
  WithMounted(*v2, [](const std::string& r) { EXPECT_EQ(ReadOr(r + "/c"), "c2"); });
}

TEST_P(SnapshotterMountConformance, ViewsAreReadOnlyAndActivesIsolated) {
  MakeLayer(*sn_, "l1", "", [](const std::string& r) { WriteFile(r + "/f", "1"); });
  MakeLayer(*sn_, "l2", "l1", [](const std::string& r) { WriteFile(r + "/g", "2"); });
  auto v = sn_->View(kNs, "v", "l2");
  ASSERT_TRUE(v.ok());
  WithMounted(*v, [](const std::string& r) {
    std::ofstream out(r + "/new");
    EXPECT_FALSE(out.is_open());
  });
  auto a = sn_->Prepare(kNs, "a", "l2");
  auto b = sn_->Prepare(kNs, "b", "l2");
  ASSERT_TRUE(a.ok() && b.ok());
  WithMounted(*a, [](const std::string& r) {
    WriteFile(r + "/only-a", "x");
    WriteFile(r + "/f", "changed");
  });
  WithMounted(*b, [](const std::string& r) {
    EXPECT_FALSE(stdfs::exists(r + "/only-a"));
    EXPECT_EQ(ReadOr(r + "/f"), "1");
  });
  auto usage = sn_->Usage(kNs, "a");
  ASSERT_TRUE(usage.ok());
  EXPECT_GE(usage->inodes, 2);
}

// What a layer applier does on overlay: write whiteouts (0/0 char devices) and opaque
// directories straight into an Active's upper directory, then commit.
TEST_P(SnapshotterMountConformance, OverlayWhiteoutsInUpperHideLowerFiles) {
  if (!GetParam().overlay_whiteouts) GTEST_SKIP() << "whiteouts are overlay's format only";
  MakeLayer(*sn_, "l1", "", [](const std::string& r) {
    WriteFile(r + "/gone", "x");
    WriteFile(r + "/keep", "k");
    stdfs::create_directories(r + "/opaque");
    WriteFile(r + "/opaque/inner", "i");
  });
  auto m = sn_->Prepare(kNs, "apply", "l1");
  ASSERT_TRUE(m.ok());
  ASSERT_EQ(m->size(), 1u);
  ASSERT_EQ((*m)[0].type, "overlay");
  const std::string upper = OptionValue((*m)[0], "upperdir");
  ASSERT_FALSE(upper.empty());
  ASSERT_EQ(::mknod((upper + "/gone").c_str(), S_IFCHR | 0, makedev(0, 0)), 0) << strerror(errno);
  ASSERT_EQ(::mkdir((upper + "/opaque").c_str(), 0755), 0);
  ASSERT_EQ(::setxattr((upper + "/opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0), 0);
  WriteFile(upper + "/opaque/fresh", "f");
  ASSERT_TRUE(sn_->Commit(kNs, "l2", "apply").ok());
  auto v = sn_->View(kNs, "v", "l2");
  ASSERT_TRUE(v.ok());
  WithMounted(*v, [](const std::string& r) {
    EXPECT_FALSE(stdfs::exists(r + "/gone"));
    EXPECT_EQ(ReadOr(r + "/keep"), "k");
    EXPECT_FALSE(stdfs::exists(r + "/opaque/inner"));
    EXPECT_EQ(ReadOr(r + "/opaque/fresh"), "f");
  });
}

GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SnapshotterConformance);
GTEST_ALLOW_UNINSTANTIATED_PARAMETERIZED_TEST(SnapshotterMountConformance);

}  // namespace berth::snapshotter::testing
