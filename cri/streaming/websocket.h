// RFC 6455 WebSocket framing and handshake, both roles (the tests' client masks its frames).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cri::streaming::ws {

enum class Opcode : uint8_t {
  kContinuation = 0x0,
  kText = 0x1,
  kBinary = 0x2,
  kClose = 0x8,
  kPing = 0x9,
  kPong = 0xA,
};

inline bool IsControl(Opcode op) { return static_cast<uint8_t>(op) & 0x8; }

struct Frame {
  bool fin = true;
  Opcode opcode = Opcode::kBinary;
  bool masked = false;
  std::string payload;  // unmasked
};

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + RFC 6455 GUID)).
std::string AcceptKey(absl::string_view client_key);

// Encodes one frame. With `mask_key` the payload is masked (client to server frames must be).
std::string EncodeFrame(Opcode opcode, absl::string_view payload, bool fin = true,
                        std::optional<uint32_t> mask_key = std::nullopt);

// A close frame payload: 2-byte status code then a UTF-8 reason.
std::string ClosePayload(uint16_t code, absl::string_view reason);

// Decodes one frame from the front of `buf`. nullopt when `buf` holds only part of a frame;
// otherwise sets `*consumed`. InvalidArgument for protocol violations: reserved bits set
// (no extensions are negotiated), unknown opcodes, fragmented or oversized (>125) control
// frames, a non-minimal or 64-bit length with the top bit set; ResourceExhausted when the
// payload exceeds `max_payload`.
absl::StatusOr<std::optional<Frame>> DecodeFrame(absl::string_view buf, size_t max_payload,
                                                 size_t* consumed);

// Joins fragmented data frames into messages; control frames pass straight through (they may
// arrive between fragments). One instance per direction of one connection.
class MessageAssembler {
 public:
  explicit MessageAssembler(size_t max_message) : max_message_(max_message) {}
  // Feeds one decoded frame. Returns a complete message (its opcode is the first fragment's,
  // or the control opcode) or nullopt while a message is still in fragments.
  // InvalidArgument for a continuation without a start or a new message inside another;
  // ResourceExhausted when a message grows beyond max_message.
  absl::StatusOr<std::optional<Frame>> Add(Frame frame);

 private:
  size_t max_message_;
  std::optional<Frame> partial_;
};

}  // namespace berth::cri::streaming::ws
