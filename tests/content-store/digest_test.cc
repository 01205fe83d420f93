#include "content-store/digest.h"

#include "content-store/resumable_sha256.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace berth::content {
namespace {

using ::testing::HasSubstr;

constexpr char kEmpty[] =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

TEST(DigestTest, ParsesSha256) {
  auto d = Digest::Parse(kEmpty);
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->str(), kEmpty);
  EXPECT_EQ(d->algorithm(), "sha256");
  EXPECT_EQ(d->hex(), absl::string_view(kEmpty).substr(7));
  EXPECT_EQ(*d, Digest::Sha256Of(""));
}

TEST(DigestTest, RejectsMalformedNamingTheDigest) {
  for (const char* bad : {"", "sha256", "sha256:", ":abc", "SHA256:abc", "sha256:abc",
                          "sha256:E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855a",
                          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b85g",
                          "sha256-:ab", "sha256:a/b"}) {
    auto d = Digest::Parse(bad);
    ASSERT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << bad << " " << d.status();
    EXPECT_THAT(std::string(d.status().message()), HasSubstr(absl::StrCat("\"", bad, "\"")));
  }
}

TEST(DigestTest, OtherAlgorithmsAreUnimplemented) {
  for (const char* other : {"sha512:abcd", "sha384:00", "blake3:abc", "multihash+base58:QmRZxt"}) {
    EXPECT_EQ(Digest::Parse(other).status().code(), absl::StatusCode::kUnimplemented) << other;
  }
}

TEST(DigestTest, StreamingMatchesOneShot) {
  Sha256Hasher h;
  h.Update("hello ");
  EXPECT_EQ(h.Current(), Digest::Sha256Of("hello "));
  h.Update("world");
  EXPECT_EQ(h.Current().str(),
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9");
  h.Reset();
  EXPECT_EQ(h.Current().str(), kEmpty);
}

TEST(ResumableSha256Test, SerializeRoundTripContinues) {
  std::string data(100003, 'q');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ResumableSha256 a;
  a.Update(absl::string_view(data).substr(0, 54321));  // mid-block
  EXPECT_EQ(a.bytes(), 54321u);
  auto b = ResumableSha256::Deserialize(a.Serialize());
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->bytes(), 54321u);
  b->Update(absl::string_view(data).substr(54321));
  EXPECT_EQ(b->Current(), Digest::Sha256Of(data));
}

TEST(ResumableSha256Test, RejectsGarbageAndInconsistentState) {
  EXPECT_FALSE(ResumableSha256::Deserialize("").ok());
  EXPECT_FALSE(ResumableSha256::Deserialize("BERTHSHA256CTX01 short").ok());
  ResumableSha256 a;
  a.Update("abc");
  std::string s = a.Serialize();
  s[16 + 4] ^= 1;  // recorded byte count no longer matches the context's counter
  EXPECT_EQ(ResumableSha256::Deserialize(s).status().code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace berth::content
