// Content digests ("sha256:<64 lowercase hex>") and streaming SHA-256.
//
// The grammar is the OCI image spec's (descriptor.md#digests):
//   digest    := algorithm ":" encoded
//   algorithm := [a-z0-9]+ ([+._-] [a-z0-9]+)*
//   encoded   := [a-zA-Z0-9=_-]+
// Only sha256 is supported by Berth's content store: a well-formed digest of another registered
// or unknown algorithm (sha512:..., blake3:...) is Unimplemented; anything malformed, including a
// sha256 digest whose hex is not 64 lowercase hex characters, is InvalidArgument.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::content {

class Digest {
 public:
  static constexpr absl::string_view kSha256 = "sha256";
  static constexpr size_t kSha256HexLength = 64;

  // An empty digest (empty() is true). Only useful as "not set".
  Digest() = default;

  // Parses and validates. InvalidArgument ("invalid digest \"<s>\": <why>") for a malformed
  // digest, Unimplemented ("unsupported digest algorithm \"<alg>\" in \"<s>\"") for a well-formed
  // digest of an algorithm other than sha256.
  static absl::StatusOr<Digest> Parse(absl::string_view s);

  // "sha256:" + lowercase hex of the 32 raw bytes.
  static Digest FromSha256Bytes(const unsigned char bytes[32]);

  // The SHA-256 digest of `data` in one call.
  static Digest Sha256Of(absl::string_view data);

  bool empty() const { return value_.empty(); }
  const std::string& str() const { return value_; }
  absl::string_view algorithm() const;  // "sha256" ("" if empty)
  absl::string_view hex() const;        // the encoded part ("" if empty)

  friend bool operator==(const Digest& a, const Digest& b) { return a.value_ == b.value_; }
  friend bool operator!=(const Digest& a, const Digest& b) { return a.value_ != b.value_; }
  friend bool operator<(const Digest& a, const Digest& b) { return a.value_ < b.value_; }
  template <typename H>
  friend H AbslHashValue(H h, const Digest& d) {
    return H::combine(std::move(h), d.value_);
  }

 private:
  explicit Digest(std::string value) : value_(std::move(value)) {}
  std::string value_;
};

// Streaming SHA-256 through OpenSSL's EVP interface. Not copyable; not thread-safe.
class Sha256Hasher {
 public:
  Sha256Hasher();
  ~Sha256Hasher();
  Sha256Hasher(const Sha256Hasher&) = delete;
  Sha256Hasher& operator=(const Sha256Hasher&) = delete;

  void Update(absl::string_view data);
  // The digest of everything passed to Update so far; the hasher can keep going afterwards.
  Digest Current() const;
  // Back to the digest of nothing.
  void Reset();

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace berth::content
