// berth-runc's command line as a user drives it (root only): `spec` writes runc's example
// config.json, and a bundle made from it runs.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "integration/executor/bundle.h"
#include "nlohmann/json.hpp"

namespace berth::executor {
namespace {

using ::testing::HasSubstr;
using namespace berth::executor::testing;

// Runs a shell command line; returns (exit status, stdout+stderr).
std::pair<int, std::string> Sh(const std::string& cmd) {
  std::string out;
  FILE* f = popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return {-1, ""};
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  int st = pclose(f);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

class RuncCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/runc-cli-itest.XXXXXX";
    dir_ = mkdtemp(tmpl);
    chmod(dir_.c_str(), 0755);
    bundle_ = dir_ + "/bundle";
    ASSERT_TRUE(fs::MkdirAll(bundle_).ok());
  }
  void TearDown() override {
    if (!id_.empty()) Sh(absl::StrCat(runc_, " --root ", dir_, "/state delete -f ", id_));
    if (!dir_.empty()) (void)fs::RemoveAll(dir_);
  }
  std::string Runc(const std::string& args) { return runc_ + " --root " + dir_ + "/state " + args; }

  const std::string runc_ = BERTH_RUNC_BIN;
  std::string dir_, bundle_, id_;
};

TEST_F(RuncCliTest, SpecWritesRuncsExampleAndRefusesToOverwrite) {
  auto [code, out] = Sh(Runc("spec -b " + bundle_));
  ASSERT_EQ(code, 0) << out;
  auto text = fs::ReadFile(bundle_ + "/config.json");
  ASSERT_TRUE(text.ok());
  auto j = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << *text;
  EXPECT_EQ(j["process"]["args"], nlohmann::json({"sh"}));
  EXPECT_EQ(j["root"]["readonly"], true);

  auto [again, again_out] = Sh(Runc("spec --bundle " + bundle_));
  EXPECT_EQ(again, 1);
  EXPECT_THAT(again_out, HasSubstr("File config.json exists. Remove it first"));
  EXPECT_EQ(*fs::ReadFile(bundle_ + "/config.json"), *text);  // untouched
}

TEST_F(RuncCliTest, SpecMatchesRuncSpecFieldForField) {
  if (access("/usr/bin/runc", X_OK) != 0 && access("/usr/sbin/runc", X_OK) != 0) {
    GTEST_SKIP() << "runc is not installed: nothing to compare with";
  }
  for (const char* flags : {"", " --rootless"}) {
    std::string ours = dir_ + "/ours" + (flags[0] ? "-rootless" : "");
    std::string theirs = dir_ + "/runc" + (flags[0] ? "-rootless" : "");
    ASSERT_TRUE(fs::MkdirAll(ours).ok() && fs::MkdirAll(theirs).ok());
    ASSERT_EQ(Sh(Runc(absl::StrCat("spec -b ", ours, flags))).first, 0);
    ASSERT_EQ(Sh(absl::StrCat("runc spec -b ", theirs, flags)).first, 0);
    auto a = nlohmann::json::parse(*fs::ReadFile(ours + "/config.json"));
    auto b = nlohmann::json::parse(*fs::ReadFile(theirs + "/config.json"));
    // The one intentional difference: the spec version this runtime implements.
    EXPECT_EQ(a["ociVersion"], "1.1.0");
    a.erase("ociVersion");
    b.erase("ociVersion");
    EXPECT_EQ(a, b) << "flags:" << flags << "\n" << nlohmann::json::diff(b, a).dump(1);
  }
}

TEST_F(RuncCliTest, BundleFromSpecRuns) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (namespaces, mounts, cgroups)";
  if (access(kBusybox, X_OK) != 0) GTEST_SKIP() << "needs " << kBusybox;
  ASSERT_TRUE(MakeRootfs(bundle_));
  ASSERT_EQ(Sh(Runc("spec -b " + bundle_)).first, 0);
  auto j = nlohmann::json::parse(*fs::ReadFile(bundle_ + "/config.json"));
  j["process"]["terminal"] = false;
  j["process"]["args"] = {"/bin/true"};
  ASSERT_TRUE(WriteConfig(bundle_, j));
  id_ = absl::StrCat("runc-cli-", getpid());
  auto [code, out] = Sh(Runc("run -b " + bundle_ + " " + id_ + " </dev/null"));
  EXPECT_EQ(code, 0) << out;
  j["process"]["args"] = {"/bin/sh", "-c", "exit 7"};
  ASSERT_TRUE(WriteConfig(bundle_, j));
  auto [code7, out7] = Sh(Runc("run -b " + bundle_ + " " + id_ + " </dev/null"));
  EXPECT_EQ(code7, 7) << out7;  // the exit status really comes from the container
}

}  // namespace
}  // namespace berth::executor
