// Byte streams for layer blobs: pull readers, push writers, (de)compression and hashing.
//
// Independent of the content store: the daemon adapts a blob reader to `Reader` and a blob
// writer to `Writer`. Everything here is single-threaded and allocation-light: one 1 MiB buffer
// per stage.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::diff {

// Pull-style input: fills up to `len` bytes of `buf`, returns how many (0 = end of stream).
// Errors propagate unchanged to the caller of Apply.
using Reader = std::function<absl::StatusOr<size_t>(char* buf, size_t len)>;

// Push-style output: consumes all `len` bytes or returns an error.
using Writer = std::function<absl::Status(const char* buf, size_t len)>;

// Compression of a layer blob.
enum class Compression { kNone, kGzip, kZstd };

// Size of the buffers used by every stage (decompression, tar parsing, file copies).
inline constexpr size_t kBufferSize = 1 << 20;

// Layer media types (OCI image spec, Docker schema 2).
inline constexpr char kMediaTypeOciLayer[] = "application/vnd.oci.image.layer.v1.tar";
inline constexpr char kMediaTypeOciLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kMediaTypeOciLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kMediaTypeDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar";
inline constexpr char kMediaTypeDockerLayerGzip[] =
    "application/vnd.docker.image.rootfs.diff.tar.gzip";

// What a media type says about compression.
//   known layer types (incl. OCI "nondistributable" and Docker "foreign") -> that compression;
//   "" or a type that is not a layer type -> nullopt-like kAuto result (detect by magic);
//   a layer type with an unsupported compression suffix (+bzip2, +xz, +encrypted, ...) ->
//   Unimplemented naming the media type.
struct CompressionChoice {
  bool detect = false;  // true: look at the first bytes of the stream
  Compression compression = Compression::kNone;
};
absl::StatusOr<CompressionChoice> CompressionForMediaType(absl::string_view media_type);

// The media type of an OCI layer with `compression`.
std::string OciMediaType(Compression compression);

// "sha256:<hex>" of incrementally fed bytes (OpenSSL EVP; SHA-NI where the CPU has it).
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void Update(const void* data, size_t len);
  // Finishes the hash; call once.
  std::string Digest();

 private:
  void* ctx_;  // EVP_MD_CTX*, kept opaque so callers need no OpenSSL headers
};

// A reader that returns the decompressed bytes of `source`. `media_type` picks the codec (see
// CompressionForMediaType); detection by magic recognises gzip, zstd and plain tar and returns
// Unimplemented for bzip2/xz. gzip uses ISA-L igzip and accepts multi-member streams (and zero
// padding after the last member); corrupt or truncated input -> DataLoss. The returned reader
// keeps `source` alive and reads it in kBufferSize chunks.
absl::StatusOr<Reader> NewDecompressingReader(Reader source, absl::string_view media_type);

// Same, with an explicit compression.
Reader NewDecompressingReader(Reader source, Compression compression);

// A push sink; Close() flushes compressed trailers. Write after Close is a bug.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual absl::Status Write(const char* data, size_t len) = 0;
  virtual absl::Status Close() = 0;
};

// Compresses into `out` (gzip: ISA-L igzip level 1; zstd: level 3; none: pass-through).
std::unique_ptr<Sink> NewCompressingSink(Writer out, Compression compression);

}  // namespace berth::diff
