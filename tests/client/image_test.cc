#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "client/archive_import.h"
#include "client/connection.h"
#include "client/image_resolve.h"
#include "gtest/gtest.h"

namespace berth::client {
namespace {

using json = nlohmann::json;

TEST(ChainId, OciSpecExample) {
  // Single layer: the chain id is the diff id.
  EXPECT_EQ(ChainId({"sha256:aa"}), "sha256:aa");
  EXPECT_EQ(ChainId({}), "");
  // Two layers: sha256("<chain0> <diff1>").
  std::string two = ChainId({"sha256:aa", "sha256:bb"});
  EXPECT_EQ(two, Sha256Digest("sha256:aa sha256:bb"));
  auto all = ChainIds({"sha256:aa", "sha256:bb", "sha256:cc"});
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[1], two);
  EXPECT_EQ(all[2], Sha256Digest(two + " sha256:cc"));
}

TEST(Sha256Digest, KnownValue) {
  EXPECT_EQ(Sha256Digest(""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(SelectManifest, PicksPlatform) {
  json index = json::parse(R"({"manifests": [
    {"digest": "sha256:1", "size": 1, "platform": {"os": "linux", "architecture": "arm64"}},
    {"digest": "sha256:2", "size": 1, "platform": {"os": "linux", "architecture": "amd64"}}]})");
  EXPECT_EQ(*SelectManifest(index, "linux", "amd64"), 1u);
  EXPECT_EQ(*SelectManifest(index, "linux", "arm64"), 0u);
  auto none = SelectManifest(index, "linux", "s390x");
  EXPECT_TRUE(absl::IsNotFound(none.status()));
  EXPECT_NE(none.status().message().find("linux/amd64"), std::string::npos);
  EXPECT_TRUE(absl::IsInvalidArgument(SelectManifest(json::object(), "linux", "amd64").status()));
}

TEST(Address, Normalize) {
  EXPECT_EQ(*NormalizeAddress("/run/berth/berth.sock"), "unix:/run/berth/berth.sock");
  EXPECT_EQ(*NormalizeAddress("unix:///run/x.sock"), "unix:/run/x.sock");
  EXPECT_EQ(*NormalizeAddress("unix:/run/x.sock"), "unix:/run/x.sock");
  EXPECT_FALSE(NormalizeAddress("").ok());
  EXPECT_FALSE(NormalizeAddress("tcp://1.2.3.4:5").ok());
}

TEST(FromGrpc, KeepsCodeAndAddsContext) {
  absl::Status s = FromGrpc(grpc::Status(grpc::StatusCode::NOT_FOUND, "no"), "get image x");
  EXPECT_TRUE(absl::IsNotFound(s));
  EXPECT_EQ(s.message(), "get image x: no");
  EXPECT_TRUE(absl::IsAlreadyExists(FromGrpc(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, ""), "")));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      FromGrpc(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, ""), "")));
  EXPECT_TRUE(FromGrpc(grpc::Status::OK, "x").ok());
}

TEST(TarReader, ReadsEntriesAndLongNames) {
  char dir[] = "/tmp/berth-tar-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string d = dir;
  std::string long_name(120, 'n');
  std::string cmd = "cd " + d + " && mkdir -p src/blobs/sha256 && printf hello > src/index.json && "
                    "printf 0123456789 > src/blobs/sha256/abc && printf x > src/" + long_name +
                    " && tar --format=gnu -C src -cf a.tar index.json blobs " + long_name;
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  int fd = open((d + "/a.tar").c_str(), O_RDONLY);
  ASSERT_GE(fd, 0);
  TarReader tar(fd);
  std::vector<std::string> names;
  std::string index;
  while (true) {
    auto e = tar.Next();
    if (absl::IsNotFound(e.status())) break;
    ASSERT_TRUE(e.ok()) << e.status();
    names.push_back(e->name);
    if (e->name == "index.json") {
      char buf[16];
      int64_t n = tar.Read(buf, sizeof(buf));
      index.assign(buf, static_cast<size_t>(n));
    }
  }
  close(fd);
  EXPECT_EQ(index, "hello");
  EXPECT_NE(std::find(names.begin(), names.end(), "blobs/sha256/abc"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), long_name), names.end());
  std::system(("rm -rf " + d).c_str());
}

}  // namespace
}  // namespace berth::client
