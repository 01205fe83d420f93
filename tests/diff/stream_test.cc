#include "plugins/diff/stream.h"

#include <random>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "plugins/diff/diff.h"
#include "tests/diff/test_util.h"

namespace berth::diff {
namespace {

using ::testing::HasSubstr;
using testing::StringReader;
using testing::TarBuilder;
using testing::TempDir;

std::string Drain(Reader r, absl::Status* status) {
  std::string out;
  std::vector<char> buf(7777);  // odd size: output boundaries fall mid-block
  for (;;) {
    auto n = r(buf.data(), buf.size());
    if (!n.ok()) {
      *status = n.status();
      return out;
    }
    if (*n == 0) break;
    out.append(buf.data(), *n);
  }
  *status = absl::OkStatus();
  return out;
}

std::string Payload(size_t size) {
  std::mt19937 rng(7);
  std::string s;
  while (s.size() < size) {
    if (rng() % 2) {
      s += "the quick brown fox jumps over the lazy dog ";
    } else {
      s.push_back(static_cast<char>(rng()));
    }
  }
  s.resize(size);
  return s;
}

TEST(StreamTest, MediaTypes) {
  auto c = CompressionForMediaType(kMediaTypeOciLayerGzip);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->compression, Compression::kGzip);
  EXPECT_FALSE(c->detect);
  EXPECT_EQ(CompressionForMediaType(kMediaTypeDockerLayerGzip)->compression, Compression::kGzip);
  EXPECT_EQ(CompressionForMediaType(kMediaTypeOciLayerZstd)->compression, Compression::kZstd);
  EXPECT_EQ(CompressionForMediaType(kMediaTypeOciLayer)->compression, Compression::kNone);
  EXPECT_EQ(CompressionForMediaType("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip")
                ->compression,
            Compression::kGzip);
  EXPECT_TRUE(CompressionForMediaType("")->detect);
  EXPECT_TRUE(CompressionForMediaType("application/octet-stream")->detect);
  auto bad = CompressionForMediaType("application/vnd.oci.image.layer.v1.tar+bzip2");
  EXPECT_TRUE(absl::IsUnimplemented(bad.status()));
  EXPECT_THAT(bad.status().message(), HasSubstr("tar+bzip2"));
}

TEST(StreamTest, GzipZstdAndPlainRoundTrip) {
  std::string data = Payload(3 << 20);
  for (auto [blob, type] : {std::pair{testing::Gzip(data), kMediaTypeOciLayerGzip},
                            std::pair{testing::Zstd(data), kMediaTypeOciLayerZstd},
                            std::pair{data, kMediaTypeOciLayer}}) {
    for (const char* mt : {type, ""}) {  // explicit and detected by magic
      auto r = NewDecompressingReader(StringReader(blob, 4093), mt);
      ASSERT_TRUE(r.ok()) << r.status();
      absl::Status s;
      std::string got = Drain(*r, &s);
      EXPECT_EQ(got.size(), data.size()) << type << " as '" << mt << "'";
      EXPECT_TRUE(got == data) << type << " as '" << mt << "'";
      EXPECT_TRUE(s.ok()) << s;
    }
  }
}

TEST(StreamTest, MultiMemberGzipAndZeroPadding) {
  std::string a = Payload(100000), b = Payload(3000), c = "tail";
  std::string blob = testing::Gzip(a) + testing::Gzip(b) + testing::Gzip(c) + std::string(9, '\0');
  auto r = NewDecompressingReader(StringReader(blob, 1000), Compression::kGzip);
  absl::Status s;
  EXPECT_EQ(Drain(r, &s), a + b + c);
  EXPECT_TRUE(s.ok()) << s;
}

TEST(StreamTest, CorruptAndTruncatedAreDataLoss) {
  std::string gz = testing::Gzip(Payload(50000));
  absl::Status s;
  Drain(NewDecompressingReader(StringReader(gz.substr(0, gz.size() - 10)), Compression::kGzip), &s);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  std::string bad = gz;
  bad[bad.size() - 6] ^= 0x55;  // CRC
  Drain(NewDecompressingReader(StringReader(bad), Compression::kGzip), &s);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  Drain(NewDecompressingReader(StringReader(gz + "garbage"), Compression::kGzip), &s);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
  std::string zs = testing::Zstd(Payload(50000));
  Drain(NewDecompressingReader(StringReader(zs.substr(0, zs.size() / 2)), Compression::kZstd), &s);
  EXPECT_TRUE(absl::IsDataLoss(s)) << s;
}

TEST(StreamTest, UnsupportedMagicIsUnimplemented) {
  auto r = NewDecompressingReader(StringReader("BZh91AY&SY..."), "");
  EXPECT_TRUE(absl::IsUnimplemented(r.status())) << r.status();
  r = NewDecompressingReader(StringReader(std::string("\xfd"
                                                      "7zXZ\0rest",
                                                      10)),
                             "odd/type");
  EXPECT_TRUE(absl::IsUnimplemented(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("odd/type"));
}

TEST(StreamTest, CompressingSinksRoundTrip) {
  std::string data = Payload(2 << 20);
  for (Compression c : {Compression::kGzip, Compression::kZstd, Compression::kNone}) {
    std::string out;
    auto sink = NewCompressingSink(testing::StringWriter(&out), c);
    for (size_t off = 0; off < data.size(); off += 100000) {
      ASSERT_TRUE(sink->Write(data.data() + off, std::min<size_t>(100000, data.size() - off)).ok());
    }
    ASSERT_TRUE(sink->Close().ok());
    absl::Status s;
    std::string got = Drain(NewDecompressingReader(StringReader(out), c), &s);
    EXPECT_TRUE(got == data) << static_cast<int>(c) << " " << got.size();
    EXPECT_TRUE(s.ok()) << static_cast<int>(c) << " " << s;
  }
}

TEST(StreamTest, ApplyFromEveryCompression) {
  std::string tar = TarBuilder().Dir("d").File("d/f", Payload(200000)).Finish();
  std::string multi;  // split mid-entry: a tar that spans gzip members
  multi = testing::Gzip(tar.substr(0, 1000)) + testing::Gzip(tar.substr(1000));
  for (auto [blob, type] :
       {std::pair{testing::Gzip(tar), kMediaTypeDockerLayerGzip},
        std::pair{multi, kMediaTypeOciLayerGzip},
        std::pair{testing::Zstd(tar), kMediaTypeOciLayerZstd},
        std::pair{tar, kMediaTypeDockerLayer}, std::pair{testing::Zstd(tar), ""}}) {
    TempDir tmp;
    auto r = Apply(StringReader(blob, 333), type, tmp.path(), {});
    ASSERT_TRUE(r.ok()) << "'" << type << "': " << r.status();
    EXPECT_EQ(r->diff_id, testing::Sha256Of(tar)) << type;
    EXPECT_EQ(testing::ReadAll(tmp.path() + "/d/f").size(), 200000u);
  }
}

}  // namespace
}  // namespace berth::diff
