// SPDY/3 header blocks: the name/value block layout and its zlib compression.
//
// Each direction of a connection keeps ONE zlib stream for all its header blocks, primed with
// SPDY/3's fixed dictionary and flushed with Z_SYNC_FLUSH after each block. So every block
// received must be inflated, even of a stream we refuse, or the next one will not decode.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include <zlib.h>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cri::streaming::spdy {

// Names are lower-case (SPDY/3 requires it). A value holding several values joins them with
// NUL bytes, as on the wire.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

// The first value of `name` (lower-case) in `headers`, up to any NUL; "" when absent.
std::string GetHeader(const HeaderList& headers, absl::string_view name);

// The SPDY/3 compression dictionary (1423 bytes, the one moby/spdystream uses).
absl::string_view Dictionary();

// Uncompressed block: u32 count, then per pair u32 length + name, u32 length + value.
std::string EncodeHeaderBlock(const HeaderList& headers);
// InvalidArgument for truncated blocks, empty or upper-case names, or duplicate names.
absl::StatusOr<HeaderList> DecodeHeaderBlock(absl::string_view block);

class HeaderCompressor {
 public:
  HeaderCompressor();
  ~HeaderCompressor();
  HeaderCompressor(const HeaderCompressor&) = delete;
  HeaderCompressor& operator=(const HeaderCompressor&) = delete;
  // Internal if zlib fails (only on a broken stream).
  absl::StatusOr<std::string> Compress(const HeaderList& headers);

 private:
  z_stream zs_{};
  bool ok_ = false;
};

class HeaderDecompressor {
 public:
  // Blocks inflating to more than `max_block` bytes are refused (a zlib bomb in a header).
  explicit HeaderDecompressor(size_t max_block = 256 * 1024);
  ~HeaderDecompressor();
  HeaderDecompressor(const HeaderDecompressor&) = delete;
  HeaderDecompressor& operator=(const HeaderDecompressor&) = delete;
  // InvalidArgument for corrupt data or a bad block, ResourceExhausted for oversized blocks.
  // After any error the stream is out of sync: the connection must end.
  absl::StatusOr<HeaderList> Decompress(absl::string_view data);

 private:
  z_stream zs_{};
  bool ok_ = false;
  size_t max_block_;
};

}  // namespace berth::cri::streaming::spdy
