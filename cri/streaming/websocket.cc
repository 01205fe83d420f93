#include "cri/streaming/websocket.h"

#include <openssl/sha.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"

namespace berth::cri::streaming::ws {
namespace {

// RFC 6455 section 1.3.
constexpr absl::string_view kAcceptGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

void ApplyMask(std::string& data, const uint8_t key[4]) {
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(data[i] ^ key[i % 4]);
}

bool KnownOpcode(uint8_t op) { return op <= 0x2 || (op >= 0x8 && op <= 0xA); }

}  // namespace

std::string AcceptKey(absl::string_view client_key) {
  std::string input = absl::StrCat(client_key, kAcceptGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest)));
}

std::string EncodeFrame(Opcode opcode, absl::string_view payload, bool fin,
                        std::optional<uint32_t> mask_key) {
  std::string out;
  out.reserve(payload.size() + 14);
  out.push_back(static_cast<char>((fin ? 0x80 : 0) | static_cast<uint8_t>(opcode)));
  uint8_t mask_bit = mask_key ? 0x80 : 0;
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(mask_bit | payload.size()));
  } else if (payload.size() <= 0xFFFF) {
    out.push_back(static_cast<char>(mask_bit | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xFF));
  } else {
    out.push_back(static_cast<char>(mask_bit | 127));
    for (int shift = 56; shift >= 0; shift -= 8) {
      out.push_back(static_cast<char>((static_cast<uint64_t>(payload.size()) >> shift) & 0xFF));
    }
  }
  if (!mask_key) {
    out.append(payload.data(), payload.size());
    return out;
  }
  uint8_t key[4] = {static_cast<uint8_t>(*mask_key >> 24), static_cast<uint8_t>(*mask_key >> 16),
                    static_cast<uint8_t>(*mask_key >> 8), static_cast<uint8_t>(*mask_key)};
  out.append(reinterpret_cast<char*>(key), 4);
  std::string masked(payload.data(), payload.size());
  ApplyMask(masked, key);
  out.append(masked);
  return out;
}

std::string ClosePayload(uint16_t code, absl::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  absl::string_view r = reason.substr(0, 123);
  out.append(r.data(), r.size());  // control payloads stop at 125 bytes
  return out;
}

absl::StatusOr<std::optional<Frame>> DecodeFrame(absl::string_view buf, size_t max_payload,
                                                 size_t* consumed) {
  if (buf.size() < 2) return std::nullopt;
  const auto* p = reinterpret_cast<const uint8_t*>(buf.data());
  if (p[0] & 0x70) return absl::InvalidArgumentError("websocket: reserved bits set");
  if (!KnownOpcode(p[0] & 0x0F)) return absl::InvalidArgumentError("websocket: unknown opcode");
  Frame frame;
  frame.fin = p[0] & 0x80;
  frame.opcode = static_cast<Opcode>(p[0] & 0x0F);
  frame.masked = p[1] & 0x80;
  uint64_t len = p[1] & 0x7F;
  size_t pos = 2;
  if (len == 126) {
    if (buf.size() < 4) return std::nullopt;
    len = (uint64_t{p[2]} << 8) | p[3];
    if (len < 126) return absl::InvalidArgumentError("websocket: non-minimal length");
    pos = 4;
  } else if (len == 127) {
    if (buf.size() < 10) return std::nullopt;
    len = 0;
    for (int i = 0; i < 8; ++i) len = (len << 8) | p[2 + i];
    if (len >> 63) return absl::InvalidArgumentError("websocket: length has top bit set");
    if (len <= 0xFFFF) return absl::InvalidArgumentError("websocket: non-minimal length");
    pos = 10;
  }
  if (IsControl(frame.opcode) && (!frame.fin || len > 125)) {
    return absl::InvalidArgumentError("websocket: fragmented or oversized control frame");
  }
  if (len > max_payload) return absl::ResourceExhaustedError("websocket: frame too large");
  uint8_t key[4] = {0, 0, 0, 0};
  if (frame.masked) {
    if (buf.size() < pos + 4) return std::nullopt;
    for (int i = 0; i < 4; ++i) key[i] = p[pos + i];
    pos += 4;
  }
  if (buf.size() - pos < len) return std::nullopt;
  frame.payload.assign(buf.data() + pos, len);
  if (frame.masked) ApplyMask(frame.payload, key);
  *consumed = pos + len;
  return frame;
}

absl::StatusOr<std::optional<Frame>> MessageAssembler::Add(Frame frame) {
  if (IsControl(frame.opcode)) return frame;
  if (frame.opcode == Opcode::kContinuation) {
    if (!partial_) return absl::InvalidArgumentError("websocket: continuation without a start");
    if (partial_->payload.size() + frame.payload.size() > max_message_) {
      return absl::ResourceExhaustedError("websocket: message too large");
    }
    partial_->payload.append(frame.payload);
    if (!frame.fin) return std::nullopt;
    Frame done = std::move(*partial_);
    partial_.reset();
    done.fin = true;
    return done;
  }
  if (partial_) return absl::InvalidArgumentError("websocket: new message inside a fragmented one");
  if (frame.fin) return frame;
  if (frame.payload.size() > max_message_) {
    return absl::ResourceExhaustedError("websocket: message too large");
  }
  partial_ = std::move(frame);
  return std::nullopt;
}

}  // namespace berth::cri::streaming::ws
