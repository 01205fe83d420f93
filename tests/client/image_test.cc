#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "absl/strings/match.h"
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
  EXPECT_TRUE(
      absl::IsAlreadyExists(FromGrpc(grpc::Status(grpc::StatusCode::ALREADY_EXISTS, ""), "")));
  EXPECT_TRUE(absl::IsFailedPrecondition(
      FromGrpc(grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, ""), "")));
  EXPECT_TRUE(FromGrpc(grpc::Status::OK, "x").ok());
}

TEST(TarReader, ReadsEntriesAndLongNames) {
  char dir[] = "/tmp/berth-tar-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string d = dir;
  std::string long_name(120, 'n');
  std::string cmd = "cd " + d +
                    " && mkdir -p src/blobs/sha256 && printf hello > src/index.json && "
                    "printf 0123456789 > src/blobs/sha256/abc && printf x > src/" +
                    long_name + " && tar --format=gnu -C src -cf a.tar index.json blobs " +
                    long_name;
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

TEST(ImagesOfIndex, NamesEntriesAndChecksTypes) {
  const std::string d = "sha256:" + std::string(64, 'a');
  ArchiveImportOptions o;
  o.base_name = "reg.example/app";
  o.labels["k"] = "v";
  auto index = [&](const std::string& entry) {
    return R"({"schemaVersion":2,"manifests":[)" + entry + "]}";
  };
  auto r = ImagesOfIndex(
      index(R"({"mediaType":"m","digest":")" + d +
            R"(","size":7,"annotations":{"org.opencontainers.image.ref.name":"v1"}},)" +
            R"({"digest":")" + d + R"(","size":7},5)"),
      o);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->size(), 1u);  // the nameless entry and the number are only content
  EXPECT_EQ((*r)[0].name(), "reg.example/app:v1");
  EXPECT_EQ((*r)[0].target().size(), 7);
  EXPECT_EQ((*r)[0].labels().at("k"), "v");
  // Members of another type are errors naming them, not exceptions (nlohmann's value() threw),
  // and 1e300 is not read as an int64 (undefined behaviour: client_archive_fuzz, UBSan).
  const std::string named = R"("annotations":{"io.containerd.image.name":"x"})";
  for (const std::string& bad :
       {R"({"digest":")" + d + R"(","size":1e300,)" + named + "}",
        R"({"digest":")" + d + R"(","size":"7",)" + named + "}",
        R"({"digest":")" + d + R"(","size":18446744073709551615,)" + named + "}",
        R"({"digest":")" + d + R"(","mediaType":5,)" + named + "}",
        R"({"digest":")" + d + R"(","annotations":{"io.containerd.image.name":5}})"}) {
    auto b = ImagesOfIndex(index(bad), o);
    EXPECT_TRUE(absl::IsInvalidArgument(b.status())) << bad << ": " << b.status();
    EXPECT_TRUE(absl::StrContains(b.status().message(), "manifests[0]")) << b.status();
  }
  EXPECT_FALSE(ImagesOfIndex(R"({"manifests":{}})", o).ok());
  EXPECT_FALSE(ImagesOfIndex("[", o).ok());
  // Deep nesting where nothing is copied: refused or read without recursion.
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_TRUE(ImagesOfIndex(index(R"({"digest":")" + d + R"(","annotations":{"a":)" + deep +
                                  R"(,"io.containerd.image.name":"x"}})"),
                            o)
                  .ok());
}

}  // namespace
}  // namespace berth::client
