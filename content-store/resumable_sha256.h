// SHA-256 whose state can be saved to disk and restored, so an interrupted ingest resumes
// without re-hashing what it already hashed.
//
// OpenSSL's EVP contexts are opaque, so this uses the low-level SHA256_CTX API (deprecated in
// OpenSSL 3 but shipped, and backed by the same SHA-NI/AVX2 block functions as EVP). The
// serialised form is tied to this OpenSSL build's SHA256_CTX layout; Deserialize validates it
// (size, bit count, buffer fill) and callers fall back to re-hashing when it is rejected.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "content-store/digest.h"

namespace berth::content {

class ResumableSha256 {
 public:
  ResumableSha256();
  ~ResumableSha256();
  ResumableSha256(ResumableSha256&&) noexcept;
  ResumableSha256& operator=(ResumableSha256&&) noexcept;
  // Copies are cheap (the state is ~112 bytes): snapshots to roll back to.
  ResumableSha256(const ResumableSha256& other);
  ResumableSha256& operator=(const ResumableSha256& other);

  void Update(absl::string_view data);
  // Digest of the bytes so far; hashing may continue afterwards.
  Digest Current() const;
  void Reset();
  // Number of bytes hashed so far (from the context's own bit counter).
  uint64_t bytes() const;

  // A self-describing blob: magic, context size, byte count, raw context.
  std::string Serialize() const;
  // InvalidArgument (or DataLoss for inconsistent contents) if `data` is not a state this build
  // wrote.
  static absl::StatusOr<ResumableSha256> Deserialize(absl::string_view data);

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
};

}  // namespace berth::content
