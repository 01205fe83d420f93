// ttrpc framing (ttrpc 1.1, containerd 1.6): every message is a 10-byte header followed by a
// payload. Header: u32 BE payload length, u32 BE stream id (odd for client-initiated streams),
// u8 type (1 request, 2 response, 3 data), u8 flags. Payloads above 4 MiB are refused.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace berth::ttrpc {

inline constexpr size_t kHeaderSize = 10;
inline constexpr uint32_t kMaxPayload = 4u << 20;

enum class FrameType : uint8_t { kRequest = 1, kResponse = 2, kData = 3 };

struct FrameHeader {
  uint32_t length = 0;
  uint32_t stream_id = 0;
  uint8_t type = 0;
  uint8_t flags = 0;
};

void EncodeHeader(const FrameHeader& h, uint8_t out[kHeaderSize]);
FrameHeader DecodeHeader(const uint8_t in[kHeaderSize]);

// Reads one frame from a blocking fd. Errors: OutOfRange on clean EOF before a header;
// ResourceExhausted when the length exceeds kMaxPayload (the payload is not read: the caller
// must drop the connection); DataLoss on EOF inside a frame; Internal-ish errno codes otherwise.
absl::Status ReadFrame(int fd, FrameHeader* header, std::string* payload);

// Writes header + payload with one writev (callers serialise writers on a connection).
// InvalidArgument when the payload exceeds kMaxPayload; errno codes on write failure.
absl::Status WriteFrame(int fd, uint32_t stream_id, FrameType type, absl::string_view payload,
                        uint8_t flags = 0);

}  // namespace berth::ttrpc
