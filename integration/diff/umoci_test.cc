// Interoperability with a real Go producer/consumer (umoci, Go archive/tar): layers umoci builds
// apply to the tree umoci unpacks, with the diff IDs its config records; a layer our Diff
// writes, added with `umoci raw add-layer`, unpacks (Go) to the tree we started from.
#include <sys/mount.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>

#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "plugins/diff/diff.h"
#include "tests/diff/test_util.h"

namespace berth::diff {
namespace {

using testing::StringReader;
using testing::TempDir;

int Sh(const std::string& script) {
  return std::system(("/bin/bash -euc '" + script + "' >/dev/null 2>&1").c_str());
}

nlohmann::json Blob(const std::string& layout, const std::string& digest) {
  std::ifstream in(layout + "/blobs/sha256/" + digest.substr(7));
  return nlohmann::json::parse(in);
}

struct Layer {
  std::string digest, media_type, diff_id;
};

std::vector<Layer> Layers(const std::string& layout, const std::string& tag) {
  std::ifstream idx(layout + "/index.json");
  nlohmann::json index = nlohmann::json::parse(idx);
  std::string manifest_digest;
  for (const auto& m : index["manifests"]) {
    if (m["annotations"]["org.opencontainers.image.ref.name"] == tag) manifest_digest = m["digest"];
  }
  nlohmann::json manifest = Blob(layout, manifest_digest);
  nlohmann::json config = Blob(layout, manifest["config"]["digest"]);
  std::vector<Layer> out;
  for (size_t i = 0; i < manifest["layers"].size(); ++i) {
    out.push_back({manifest["layers"][i]["digest"], manifest["layers"][i]["mediaType"],
                   config["rootfs"]["diff_ids"][i]});
  }
  return out;
}

absl::StatusOr<ApplyResult> ApplyBlob(const std::string& layout, const Layer& layer,
                                      const std::string& root, ApplyOptions opts) {
  auto data = fs::ReadFile(layout + "/blobs/sha256/" + layer.digest.substr(7));
  if (!data.ok()) return data.status();
  opts.expected_diff_id = layer.diff_id;
  opts.expected_digest = layer.digest;
  return Apply(StringReader(*data), layer.media_type, root, opts);
}

class UmociTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "needs root";
    if (::access("/usr/bin/umoci", X_OK) != 0) GTEST_SKIP() << "umoci not installed";
    dir_ = tmp_.path();
    ASSERT_EQ(Sh("cd " + dir_ + R"(
      umoci init --layout oci; umoci new --image oci:t; umoci unpack --image oci:t b1
      r=b1/rootfs; mkdir -p $r/bin $r/etc/dir/sub $r/gone $r/opq/old
      cp /bin/busybox $r/bin/; ln -s busybox $r/bin/sh; ln $r/bin/busybox $r/bin/hard
      chmod 4755 $r/bin/hard; echo hi > $r/etc/dir/sub/f; echo g > $r/gone/x
      setfattr -n user.test -v val $r/etc/dir/sub/f; mkfifo $r/fifo; chown 1000:1000 $r/etc/dir
      umoci repack --image oci:t b1; umoci unpack --image oci:t b2; r=b2/rootfs
      rm -rf $r/gone $r/bin/sh $r/opq; mkdir -p $r/opq; echo n > $r/opq/new
      echo new > $r/etc/new; touch -d @1234567890 $r/etc/new
      umoci repack --image oci:t b2; umoci unpack --image oci:t ref)"),
              0);
    layers_ = Layers(dir_ + "/oci", "t");
    ASSERT_EQ(layers_.size(), 2u);
  }

  TempDir tmp_;
  std::string dir_;
  std::vector<Layer> layers_;
};

TEST_F(UmociTest, GoLayersApplyToTheTreeUmociUnpacks) {
  std::string ours = tmp_.Sub("ours");
  for (const Layer& layer : layers_) {
    auto r = ApplyBlob(dir_ + "/oci", layer, ours, {});
    ASSERT_TRUE(r.ok()) << layer.digest << ": " << r.status();
  }
  EXPECT_EQ(testing::Tree(ours), testing::Tree(dir_ + "/ref/rootfs"));
}

TEST_F(UmociTest, GoLayersAsOverlayUppersGiveTheSameMergedTree) {
  std::vector<std::string> uppers;
  for (size_t i = 0; i < layers_.size(); ++i) {
    std::string upper = tmp_.Sub("upper" + std::to_string(i));
    ApplyOptions opts;
    opts.mode = Mode::kOverlayUpper;
    opts.parents.assign(uppers.rbegin(), uppers.rend());
    auto r = ApplyBlob(dir_ + "/oci", layers_[i], upper, opts);
    ASSERT_TRUE(r.ok()) << r.status();
    uppers.push_back(upper);
  }
  std::string merged = tmp_.Sub("merged");
  std::string opts = "lowerdir=" + uppers[1] + ":" + uppers[0];
  ASSERT_EQ(::mount("overlay", merged.c_str(), "overlay", MS_RDONLY, opts.c_str()), 0)
      << std::strerror(errno);
  auto got = testing::Tree(merged), want = testing::Tree(dir_ + "/ref/rootfs");
  ::umount2(merged.c_str(), MNT_DETACH);
  EXPECT_EQ(got, want);
}

TEST_F(UmociTest, OurDiffUnpacksWithUmoci) {
  std::string empty = tmp_.Sub("empty");
  std::string tar;
  auto d = Diff(empty, dir_ + "/ref/rootfs", Mode::kPlain, testing::StringWriter(&tar),
                {Compression::kNone});
  ASSERT_TRUE(d.ok()) << d.status();
  ASSERT_TRUE(fs::WriteFileAtomic(dir_ + "/ours.tar", tar).ok());
  ASSERT_EQ(Sh("cd " + dir_ + R"(
      umoci new --image oci:fresh; umoci raw add-layer --image oci:fresh ours.tar
      umoci unpack --image oci:fresh fresh)"),
            0);
  EXPECT_EQ(testing::Tree(dir_ + "/fresh/rootfs"), testing::Tree(dir_ + "/ref/rootfs"));
}

}  // namespace
}  // namespace berth::diff
