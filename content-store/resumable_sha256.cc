// The low-level SHA256_* API is deprecated in OpenSSL 3 but is the only one whose state is a
// plain struct we can checkpoint; see resumable_sha256.h.
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "content-store/resumable_sha256.h"

#include <openssl/sha.h>

#include <cstring>

#include "absl/strings/str_cat.h"

namespace berth::content {
namespace {

constexpr absl::string_view kMagic = "BERTHSHA256CTX01";  // 16 bytes

template <typename T>
void AppendRaw(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof(v));
}

}  // namespace

struct ResumableSha256::Ctx {
  SHA256_CTX sha;
};

ResumableSha256::ResumableSha256() : ctx_(std::make_unique<Ctx>()) { SHA256_Init(&ctx_->sha); }
ResumableSha256::~ResumableSha256() = default;
ResumableSha256::ResumableSha256(ResumableSha256&&) noexcept = default;
ResumableSha256& ResumableSha256::operator=(ResumableSha256&&) noexcept = default;
ResumableSha256::ResumableSha256(const ResumableSha256& other)
    : ctx_(std::make_unique<Ctx>(*other.ctx_)) {}
ResumableSha256& ResumableSha256::operator=(const ResumableSha256& other) {
  if (this != &other) ctx_ = std::make_unique<Ctx>(*other.ctx_);
  return *this;
}

void ResumableSha256::Update(absl::string_view data) {
  if (!data.empty()) SHA256_Update(&ctx_->sha, data.data(), data.size());
}

Digest ResumableSha256::Current() const {
  SHA256_CTX copy = ctx_->sha;
  unsigned char out[SHA256_DIGEST_LENGTH];
  SHA256_Final(out, &copy);
  return Digest::FromSha256Bytes(out);
}

void ResumableSha256::Reset() { SHA256_Init(&ctx_->sha); }

uint64_t ResumableSha256::bytes() const {
  uint64_t bits = (static_cast<uint64_t>(ctx_->sha.Nh) << 32) | ctx_->sha.Nl;
  return bits / 8;
}

std::string ResumableSha256::Serialize() const {
  std::string out(kMagic);
  AppendRaw(out, static_cast<uint32_t>(sizeof(SHA256_CTX)));
  AppendRaw(out, bytes());
  AppendRaw(out, ctx_->sha);
  return out;
}

absl::StatusOr<ResumableSha256> ResumableSha256::Deserialize(absl::string_view data) {
  const size_t want = kMagic.size() + sizeof(uint32_t) + sizeof(uint64_t) + sizeof(SHA256_CTX);
  if (data.size() != want || data.substr(0, kMagic.size()) != kMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat("sha256 state: unknown format (", data.size(), " bytes)"));
  }
  const char* p = data.data() + kMagic.size();
  uint32_t ctx_size;
  uint64_t count;
  std::memcpy(&ctx_size, p, sizeof(ctx_size));
  p += sizeof(ctx_size);
  std::memcpy(&count, p, sizeof(count));
  p += sizeof(count);
  if (ctx_size != sizeof(SHA256_CTX)) {
    return absl::InvalidArgumentError("sha256 state: written by an OpenSSL with another layout");
  }
  ResumableSha256 out;
  std::memcpy(&out.ctx_->sha, p, sizeof(SHA256_CTX));
  // The context's own counters must agree with the recorded byte count and with a partial
  // block that fits its buffer; anything else is a corrupt file.
  const SHA256_CTX& s = out.ctx_->sha;
  if (out.bytes() != count || s.num != count % SHA256_CBLOCK ||
      s.md_len != SHA256_DIGEST_LENGTH) {
    return absl::DataLossError("sha256 state: inconsistent counters");
  }
  return out;
}

}  // namespace berth::content
