#include "content-store/digest.h"

#include <openssl/evp.h>

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace berth::content {
namespace {

bool IsAlgChar(char c) { return absl::ascii_islower(c) || absl::ascii_isdigit(c); }
bool IsAlgSeparator(char c) { return c == '+' || c == '.' || c == '_' || c == '-'; }
bool IsEncodedChar(char c) {
  return absl::ascii_isalnum(c) || c == '=' || c == '_' || c == '-';
}
bool IsLowerHex(char c) { return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f'); }

absl::Status Invalid(absl::string_view s, absl::string_view why) {
  return absl::InvalidArgumentError(absl::StrCat("invalid digest \"", absl::CEscape(s), "\": ", why));
}

// algorithm := [a-z0-9]+ ([+._-] [a-z0-9]+)*
bool ValidAlgorithm(absl::string_view alg) {
  if (alg.empty()) return false;
  bool need_char = true;
  for (char c : alg) {
    if (IsAlgChar(c)) {
      need_char = false;
    } else if (IsAlgSeparator(c) && !need_char) {
      need_char = true;
    } else {
      return false;
    }
  }
  return !need_char;
}

}  // namespace

absl::StatusOr<Digest> Digest::Parse(absl::string_view s) {
  size_t colon = s.find(':');
  if (colon == absl::string_view::npos) return Invalid(s, "missing ':' separator");
  absl::string_view alg = s.substr(0, colon);
  absl::string_view enc = s.substr(colon + 1);
  if (!ValidAlgorithm(alg)) return Invalid(s, "malformed algorithm");
  if (enc.empty()) return Invalid(s, "empty encoded part");
  for (char c : enc) {
    if (!IsEncodedChar(c)) return Invalid(s, "malformed encoded part");
  }
  if (alg != kSha256) {
    return absl::UnimplementedError(absl::StrCat("unsupported digest algorithm \"", alg,
                                                 "\" in \"", absl::CEscape(s), "\""));
  }
  if (enc.size() != kSha256HexLength) {
    return Invalid(s, absl::StrCat("sha256 needs 64 hex characters, got ", enc.size()));
  }
  for (char c : enc) {
    if (!IsLowerHex(c)) return Invalid(s, "sha256 hex must be lowercase [0-9a-f]");
  }
  return Digest(std::string(s));
}

Digest Digest::FromSha256Bytes(const unsigned char bytes[32]) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  out.reserve(7 + 64);
  for (int i = 0; i < 32; ++i) {
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return Digest(std::move(out));
}

Digest Digest::Sha256Of(absl::string_view data) {
  Sha256Hasher h;
  h.Update(data);
  return h.Current();
}

absl::string_view Digest::algorithm() const {
  absl::string_view v = value_;
  size_t colon = v.find(':');
  return colon == absl::string_view::npos ? absl::string_view() : v.substr(0, colon);
}

absl::string_view Digest::hex() const {
  absl::string_view v = value_;
  size_t colon = v.find(':');
  return colon == absl::string_view::npos ? absl::string_view() : v.substr(colon + 1);
}

struct Sha256Hasher::Ctx {
  EVP_MD_CTX* md = nullptr;
};

Sha256Hasher::Sha256Hasher() : ctx_(std::make_unique<Ctx>()) {
  ctx_->md = EVP_MD_CTX_new();
  // Allocation failure or a provider without SHA-256 leaves nothing sensible to do: the
  // content store cannot verify anything, so fail loudly rather than commit unverified data.
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) std::abort();
}

Sha256Hasher::~Sha256Hasher() { EVP_MD_CTX_free(ctx_->md); }

void Sha256Hasher::Update(absl::string_view data) {
  if (!data.empty() && EVP_DigestUpdate(ctx_->md, data.data(), data.size()) != 1) std::abort();
}

Digest Sha256Hasher::Current() const {
  EVP_MD_CTX* copy = EVP_MD_CTX_new();
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (copy == nullptr || EVP_MD_CTX_copy_ex(copy, ctx_->md) != 1 ||
      EVP_DigestFinal_ex(copy, out, &len) != 1 || len != 32) {
    std::abort();
  }
  EVP_MD_CTX_free(copy);
  return Digest::FromSha256Bytes(out);
}

void Sha256Hasher::Reset() {
  if (EVP_DigestInit_ex(ctx_->md, EVP_sha256(), nullptr) != 1) std::abort();
}

}  // namespace berth::content
