// RegistryClient's push half against an in-process fake registry (tests/transfer/fake_registry.h)
// that keeps uploads in memory the way the distribution spec describes them.
#include <atomic>
#include <map>
#include <mutex>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "content-store/digest.h"
#include "gtest/gtest.h"
#include "plugins/transfer/registry_client.h"
#include "tests/transfer/fake_registry.h"

namespace berth::transfer {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeServer;
using testing::QueryValue;
using Registry = testing::MemoryRegistry;

struct Fixture {
  Registry reg;
  FakeServer srv{[this](const FakeRequest& r) { return reg.Handle(r); }};
  Fixture() { reg.host = srv.host(); }
  RegistryClient Client(Credentials creds = {}) {
    RegistryHost h;
    h.scheme = "http";
    h.host = srv.host();
    ClientOptions o{{h}, creds, 2, 3, absl::Milliseconds(5), nullptr};
    o.push = true;
    o.extra_scopes = {"repository:other/repo:pull"};
    return RegistryClient(*ParseReference(srv.host() + "/repo:v1"), o);
  }
};

Descriptor Desc(const std::string& body, const std::string& type = "application/octet-stream") {
  return {type, content::Digest::Sha256Of(body).str(), static_cast<int64_t>(body.size()),
          std::nullopt, {}};
}

BlobReader ReaderOf(const std::string& bytes, std::atomic<int>* reads = nullptr) {
  return [&bytes, reads](int64_t off, char* buf, size_t len) -> absl::StatusOr<size_t> {
    if (reads != nullptr && off == 0) ++*reads;
    size_t n = std::min(len, bytes.size() - static_cast<size_t>(off));
    bytes.copy(buf, n, static_cast<size_t>(off));
    return n;
  };
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131) ^ (i >> 9));
  return s;
}

TEST(RegistryPush, UploadsABlobThroughARelativeLocation) {
  Fixture f;
  std::string blob = Pattern(3 << 20);  // several reads, larger than curl's buffer
  auto c = f.Client();
  ASSERT_FALSE(*c.BlobExists(Desc(blob)));
  int64_t last = 0;
  auto mounted = c.PushBlob(Desc(blob), ReaderOf(blob), "", [&](int64_t n) { last = n; });
  ASSERT_TRUE(mounted.ok()) << mounted.status();
  EXPECT_FALSE(*mounted);
  EXPECT_EQ(f.reg.blobs[Desc(blob).digest], blob);
  EXPECT_EQ(last, static_cast<int64_t>(blob.size()));
  EXPECT_TRUE(*c.BlobExists(Desc(blob)));
  // The PUT kept the upload's own query (its state) and added the digest.
  bool saw_put = false;
  for (const auto& r : f.srv.requests()) {
    if (r.method != "PUT") continue;
    saw_put = true;
    EXPECT_TRUE(absl::StartsWith(r.path, "/v2/repo/blobs/uploads/up-1?_state=abc&digest=sha256"))
        << r.path;
    EXPECT_EQ(r.headers.count("expect"), 0u);
  }
  EXPECT_TRUE(saw_put);
}

TEST(RegistryPush, FollowsAnAbsoluteLocation) {
  Fixture f;
  f.reg.absolute_location = true;
  std::string blob = "config bytes";
  auto c = f.Client();
  ASSERT_TRUE(c.PushBlob(Desc(blob), ReaderOf(blob), "", nullptr).ok());
  EXPECT_EQ(f.reg.blobs[Desc(blob).digest], blob);
  bool absolute = false;
  for (const auto& r : f.srv.requests()) {
    absolute |= r.method == "PUT" && absl::StartsWith(r.path, "/elsewhere/up-1?digest=sha256");
  }
  EXPECT_TRUE(absolute);
}

TEST(RegistryPush, MountsFromAnotherRepository) {
  Fixture f;
  std::string blob = "shared layer";
  f.reg.mountable[Desc(blob).digest] = blob;
  auto mounted = f.Client().PushBlob(Desc(blob), ReaderOf(blob), "other/repo", nullptr);
  ASSERT_TRUE(mounted.ok()) << mounted.status();
  EXPECT_TRUE(*mounted);
  for (const auto& r : f.srv.requests()) EXPECT_NE(r.method, "PUT") << r.path;
  // A repository the registry cannot mount from: the upload goes ahead.
  std::string other = "not mountable";
  auto up = f.Client().PushBlob(Desc(other), ReaderOf(other), "other/repo", nullptr);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_FALSE(*up);
  EXPECT_EQ(f.reg.blobs[Desc(other).digest], other);
}

TEST(RegistryPush, RetriesAFailedUploadFromTheStart) {
  Fixture f;
  f.reg.fail_puts = 1;
  std::string blob = Pattern(100000);
  std::atomic<int> starts{0};
  ASSERT_TRUE(f.Client().PushBlob(Desc(blob), ReaderOf(blob, &starts), "", nullptr).ok());
  EXPECT_EQ(f.reg.blobs[Desc(blob).digest], blob);
  EXPECT_EQ(starts.load(), 2);
  int posts = 0;
  for (const auto& r : f.srv.requests()) posts += r.method == "POST";
  EXPECT_EQ(posts, 2);  // a new upload session for the retry
}

TEST(RegistryPush, PushesManifestsWithTheirMediaType) {
  Fixture f;
  std::string m = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"})";
  auto c = f.Client();
  ASSERT_TRUE(c.PushManifest(Desc(m, kOciManifest), m, "v1").ok());
  EXPECT_EQ(f.reg.manifests["v1"], m);
  EXPECT_EQ(f.reg.manifest_types["v1"], kOciManifest);
  // Bytes that do not match their descriptor are never sent.
  EXPECT_EQ(c.PushManifest(Desc(m, kOciManifest), m + " ", "v2").code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(f.reg.manifests.count("v2"), 0u);
}

TEST(RegistryPush, RefusesAnAnswerNamingAnotherDigest) {
  Fixture f;
  f.reg.lie_about_digest = true;
  std::string blob = "layer";
  auto c = f.Client();
  auto s = c.PushBlob(Desc(blob), ReaderOf(blob), "", nullptr);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kFailedPrecondition) << s.status();
  EXPECT_TRUE(absl::StrContains(s.status().message(), "stored digest")) << s.status();
  std::string m = R"({"schemaVersion":2})";
  auto ms = c.PushManifest(Desc(m, kOciManifest), m, "v1");
  EXPECT_EQ(ms.code(), absl::StatusCode::kFailedPrecondition) << ms;
}

TEST(RegistryPush, AsksTheTokenServerForPushScope) {
  std::string host;
  std::vector<std::string> token_queries;
  std::mutex mu;
  std::map<std::string, std::string> blobs;
  FakeServer srv([&](const FakeRequest& r) -> FakeResponse {
    std::lock_guard<std::mutex> l(mu);
    if (absl::StartsWith(r.path, "/token")) {
      token_queries.push_back(r.path);
      bool push = absl::StrContains(r.path, "scope=repository%3Arepo%3Apull%2Cpush");
      return {200, {}, push ? R"({"token":"push-tok"})" : R"({"token":"pull-tok"})"};
    }
    auto auth = r.headers.find("authorization");
    bool may_push = auth != r.headers.end() && auth->second == "Bearer push-tok";
    if (!may_push) {  // like distribution: the HEAD's challenge names the pull scope only
      return {401,
              {{"WWW-Authenticate",
                absl::StrCat("Bearer realm=\"http://", host,
                             "/token\",service=\"fake\",scope=\"repository:repo:pull\"")}},
              ""};
    }
    if (r.method == "HEAD") return {404, {}, ""};
    if (r.method == "POST") return {202, {{"Location", "/v2/repo/blobs/uploads/u"}}, ""};
    blobs[QueryValue(r.path, "digest")] = r.body;
    return {201, {}, ""};
  });
  host = srv.host();
  RegistryHost h;
  h.scheme = "http";
  h.host = host;
  ClientOptions o{{h}, {"u", "p", "", ""}, 2, 2, absl::Milliseconds(5), nullptr};
  o.push = true;
  o.extra_scopes = {"repository:base/img:pull"};
  RegistryClient c(*ParseReference(host + "/repo:v1"), o);
  std::string blob = "bytes";
  ASSERT_FALSE(*c.BlobExists(Desc(blob)));
  ASSERT_TRUE(c.PushBlob(Desc(blob), ReaderOf(blob), "", nullptr).ok());
  EXPECT_EQ(blobs[Desc(blob).digest], blob);
  ASSERT_FALSE(token_queries.empty());
  EXPECT_TRUE(absl::StrContains(token_queries[0], "scope=repository%3Abase%2Fimg%3Apull"))
      << token_queries[0];
  EXPECT_EQ(token_queries.size(), 1u);  // the push token serves every later request
}

TEST(RegistryPush, BasicChallengeNeedsCredentials) {
  FakeServer srv([](const FakeRequest& r) -> FakeResponse {
    if (r.headers.count("authorization") == 0) return {401, {{"WWW-Authenticate", "Basic realm=\"x\""}}, ""};
    return {404, {}, ""};
  });
  RegistryHost h;
  h.scheme = "http";
  h.host = srv.host();
  ClientOptions o{{h}, {}, 2, 1, absl::Milliseconds(5), nullptr};
  o.push = true;
  RegistryClient anon(*ParseReference(srv.host() + "/repo:v1"), o);
  auto s = anon.BlobExists(Desc("x"));
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnauthenticated) << s.status();
  o.credentials = {"u", "p", "", ""};
  RegistryClient with(*ParseReference(srv.host() + "/repo:v1"), o);
  auto e = with.BlobExists(Desc("x"));
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_FALSE(*e);
}

}  // namespace
}  // namespace berth::transfer
