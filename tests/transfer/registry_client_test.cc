#include "plugins/transfer/registry_client.h"

#include <atomic>
#include <thread>

#include "content-store/digest.h"
#include "gtest/gtest.h"
#include "tests/transfer/fake_registry.h"

namespace berth::transfer {
namespace {

using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeServer;

struct StringSink : BlobSink {
  std::string data;
  int restarts = 0;
  int64_t Offset() const override { return static_cast<int64_t>(data.size()); }
  absl::Status Restart() override {
    ++restarts;
    data.clear();
    return absl::OkStatus();
  }
  absl::Status Write(absl::string_view d) override {
    data.append(d.data(), d.size());
    return absl::OkStatus();
  }
};

RegistryClient Client(const std::string& host, Credentials creds = {}, int attempts = 3) {
  RegistryHost h;
  h.scheme = "http";
  h.host = host;
  ClientOptions o{{h}, creds, 2, attempts, absl::Milliseconds(5), nullptr};
  return RegistryClient(*ParseReference(host + "/repo:tag"), o);
}

Descriptor BlobDesc(const std::string& body) {
  return {"application/octet-stream", content::Digest::Sha256Of(body).str(),
          static_cast<int64_t>(body.size()), std::nullopt, {}};
}

const std::string kManifest = R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{},"layers":[]})";

TEST(RegistryClient, BearerTokenFromTheChallenge) {
  std::string digest = content::Digest::Sha256Of(kManifest).str();
  std::string host;
  FakeServer srv([&](const FakeRequest& r) -> FakeResponse {
    if (r.path.rfind("/token", 0) == 0) {
      if (r.headers.count("authorization") == 0 || r.headers.at("authorization") != "Basic dTpw") {
        return {401, {}, ""};
      }
      return {200, {{"Content-Type", "application/json"}}, R"({"token":"tok"})"};
    }
    auto auth = r.headers.find("authorization");
    if (auth == r.headers.end() || auth->second != "Bearer tok") {
      return {401,
              {{"WWW-Authenticate",
                absl::StrCat("Bearer realm=\"http://", host, "/token\",service=\"fake\",scope=\"repository:repo:pull\"")}},
              "{}"};
    }
    return {200, {{"Content-Type", kOciManifest}, {"Docker-Content-Digest", digest}}, kManifest};
  });
  host = srv.host();
  auto c = Client(host, {"u", "p", "", ""});
  auto d = c.Resolve();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->digest, digest);
  EXPECT_EQ(d->media_type, kOciManifest);
  EXPECT_EQ(d->size, static_cast<int64_t>(kManifest.size()));
  auto body = c.FetchManifest(*d);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, kManifest);
  bool token_asked = false;
  for (const auto& r : srv.requests()) {
    if (r.path.rfind("/token?", 0) == 0) {
      token_asked = true;
      EXPECT_NE(r.path.find("scope=repository%3Arepo%3Apull"), std::string::npos) << r.path;
      EXPECT_NE(r.path.find("service=fake"), std::string::npos) << r.path;
    }
  }
  EXPECT_TRUE(token_asked);
  // The token is cached: one more request needs no new token.
  size_t before = srv.requests().size();
  ASSERT_TRUE(c.FetchManifest(*d).ok());
  EXPECT_EQ(srv.requests().size(), before + 1);
}

TEST(RegistryClient, BasicChallengeWithoutCredentialsIsUnauthenticated) {
  FakeServer srv([](const FakeRequest& r) -> FakeResponse {
    if (r.headers.count("authorization")) return {200, {{"Content-Type", kOciManifest}}, kManifest};
    return {401, {{"WWW-Authenticate", "Basic realm=\"x\""}}, ""};
  });
  EXPECT_EQ(Client(srv.host()).Resolve().status().code(), absl::StatusCode::kUnauthenticated);
  auto ok = Client(srv.host(), {"u", "p", "", ""}).Resolve();
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->digest, content::Digest::Sha256Of(kManifest).str());  // GET after a bare HEAD
}

TEST(RegistryClient, ResumesABrokenBlobWithRange) {
  std::string blob(100000, 'x');
  for (size_t i = 0; i < blob.size(); ++i) blob[i] = static_cast<char>(i * 7);
  std::atomic<int> n{0};
  FakeServer srv([&](const FakeRequest& r) -> FakeResponse {
    if (n++ == 0) return {200, {}, blob, 40000};  // connection dies after 40000 bytes
    auto range = r.headers.find("range");
    EXPECT_NE(range, r.headers.end());
    if (range == r.headers.end()) return {500, {}, ""};
    EXPECT_EQ(range->second, "bytes=40000-");
    return {206, {{"Content-Range", absl::StrCat("bytes 40000-99999/100000")}}, blob.substr(40000)};
  });
  StringSink sink;
  auto c = Client(srv.host());
  ASSERT_TRUE(c.FetchBlob(BlobDesc(blob), sink).ok());
  EXPECT_EQ(sink.data, blob);
  EXPECT_EQ(sink.restarts, 0);
}

TEST(RegistryClient, RestartsWhenTheServerIgnoresRange) {
  std::string blob(50000, 'y');
  std::atomic<int> n{0};
  FakeServer srv([&](const FakeRequest&) -> FakeResponse {
    return n++ == 0 ? FakeResponse{200, {}, blob, 1000} : FakeResponse{200, {}, blob};
  });
  StringSink sink;
  ASSERT_TRUE(Client(srv.host()).FetchBlob(BlobDesc(blob), sink).ok());
  EXPECT_EQ(sink.data, blob);
  EXPECT_EQ(sink.restarts, 1);
}

TEST(RegistryClient, FollowsRedirectsToBlobStorage) {
  std::string blob = "layer bytes";
  FakeServer srv([&](const FakeRequest& r) -> FakeResponse {
    if (r.path.rfind("/storage/", 0) == 0) return {200, {}, blob};
    return {307, {{"Location", "/storage/abc?sig=1"}}, ""};
  });
  StringSink sink;
  ASSERT_TRUE(Client(srv.host()).FetchBlob(BlobDesc(blob), sink).ok());
  EXPECT_EQ(sink.data, blob);
}

TEST(RegistryClient, RetriesTransientErrorsThenGivesUp) {
  std::atomic<int> n{0};
  std::string blob = "abc";
  FakeServer srv([&](const FakeRequest&) -> FakeResponse {
    return n++ < 2 ? FakeResponse{503, {}, "busy"} : FakeResponse{200, {}, blob};
  });
  StringSink sink;
  ASSERT_TRUE(Client(srv.host(), {}, 3).FetchBlob(BlobDesc(blob), sink).ok());
  EXPECT_EQ(n.load(), 3);
  n = 0;
  StringSink sink2;
  auto s = Client(srv.host(), {}, 2).FetchBlob(BlobDesc(blob), sink2);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("attempt 2/2"), std::string::npos) << s;
}

TEST(RegistryClient, NotFoundIsNotRetried) {
  std::atomic<int> n{0};
  FakeServer srv([&](const FakeRequest&) -> FakeResponse {
    ++n;
    return {404, {}, R"({"errors":[{"code":"MANIFEST_UNKNOWN"}]})"};
  });
  EXPECT_EQ(Client(srv.host()).Resolve().status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(n.load(), 1);  // HEAD only
}

TEST(RegistryClient, VerifiesAndBoundsManifests) {
  std::string big(kMaxManifestSize + 10, ' ');
  FakeServer srv([&](const FakeRequest& r) -> FakeResponse {
    if (r.path.find("big") != std::string::npos) return {200, {}, big};
    return {200, {}, kManifest + " "};
  });
  auto c = Client(srv.host());
  Descriptor d = BlobDesc(kManifest);
  EXPECT_EQ(c.FetchManifest(d).status().code(), absl::StatusCode::kFailedPrecondition);
  Descriptor huge = d;
  huge.size = kMaxManifestSize + 1;
  EXPECT_EQ(c.FetchManifest(huge).status().code(), absl::StatusCode::kResourceExhausted);
  // A registry that sends more than it announced is cut off at the bound.
  auto ref = *ParseReference(srv.host() + "/big:tag");
  RegistryHost h;
  h.scheme = "http";
  h.host = srv.host();
  RegistryClient bc(ref, {{h}, {}, 2, 1, absl::Milliseconds(5), nullptr});
  EXPECT_EQ(bc.FetchManifest(d).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(RegistryClient, MirrorsFallBackToTheServer) {
  FakeServer mirror([](const FakeRequest&) -> FakeResponse { return {404, {}, ""}; });
  FakeServer server([](const FakeRequest&) -> FakeResponse {
    return {200, {{"Content-Type", kOciManifest}}, kManifest};
  });
  RegistryHost m, s;
  m.scheme = s.scheme = "http";
  m.host = mirror.host();
  m.capabilities = kCapPull | kCapResolve;
  s.host = server.host();
  RegistryClient c(*ParseReference("example.com/repo:tag"),
                   {{m, s}, {}, 2, 2, absl::Milliseconds(5), nullptr});
  auto d = c.Resolve();
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_FALSE(mirror.requests().empty());
}

TEST(RegistryClient, NoProgressTimesOut) {
  FakeServer srv([](const FakeRequest&) -> FakeResponse {
    std::this_thread::sleep_for(std::chrono::milliseconds(3500));
    return {200, {}, "late"};
  });
  StringSink sink;
  auto s = Client(srv.host(), {}, 1).FetchBlob(BlobDesc("late"), sink);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_NE(s.message().find("no progress"), std::string::npos) << s;
}

}  // namespace
}  // namespace berth::transfer
