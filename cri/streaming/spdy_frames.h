// SPDY/3.1 frame layout (draft-mbelshe-httpbis-spdy-00 + the 3.1 flow-control amendments),
// as moby/spdystream speaks it for kubectl, crictl and kubelet. Header blocks stay opaque
// here; spdy_headers.h compresses them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace berth::cri::streaming::spdy {

constexpr uint16_t kVersion = 3;

enum class FrameType : uint16_t {
  kSynStream = 1,
  kSynReply = 2,
  kRstStream = 3,
  kSettings = 4,
  kPing = 6,
  kGoAway = 7,
  kHeaders = 8,
  kWindowUpdate = 9,
};

constexpr uint8_t kFlagFin = 0x01;
constexpr uint8_t kFlagUnidirectional = 0x02;

// RST_STREAM status codes.
enum class RstStatus : uint32_t {
  kProtocolError = 1,
  kInvalidStream = 2,
  kRefusedStream = 3,
  kUnsupportedVersion = 4,
  kCancel = 5,
  kInternalError = 6,
  kFlowControlError = 7,
  kStreamInUse = 8,
  kStreamAlreadyClosed = 9,
  kFrameTooLarge = 11,
};

constexpr uint32_t kSettingsMaxConcurrentStreams = 4;
constexpr uint32_t kSettingsInitialWindowSize = 7;
constexpr uint32_t kDefaultWindow = 64 * 1024;

// A frame split into its common header and payload.
struct RawFrame {
  bool control = false;
  uint16_t version = 0;    // control only
  uint16_t type = 0;       // control only
  uint32_t stream_id = 0;  // data only
  uint8_t flags = 0;
  std::string payload;
};

// Decodes one frame from the front of `buf`: nullopt while incomplete, else sets `*consumed`.
// ResourceExhausted when the payload exceeds `max_payload` (the length field allows 16 MiB).
absl::StatusOr<std::optional<RawFrame>> DecodeFrame(absl::string_view buf, size_t max_payload,
                                                    size_t* consumed);

struct SynStream {
  uint32_t stream_id = 0;
  uint32_t associated_id = 0;
  uint8_t priority = 0;
  std::string header_block;  // compressed
};
struct Setting {
  uint8_t flags = 0;
  uint32_t id = 0;
  uint32_t value = 0;
};

// Payload parsers for control frames. InvalidArgument for short or inconsistent payloads
// and for stream id 0 where a stream is required.
absl::StatusOr<SynStream> ParseSynStream(absl::string_view payload);
// SYN_REPLY and HEADERS share one layout: stream id + header block.
absl::StatusOr<std::pair<uint32_t, std::string>> ParseStreamHeaders(absl::string_view payload);
absl::StatusOr<std::pair<uint32_t, RstStatus>> ParseRstStream(absl::string_view payload);
absl::StatusOr<std::vector<Setting>> ParseSettings(absl::string_view payload);
absl::StatusOr<uint32_t> ParsePing(absl::string_view payload);
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseGoAway(absl::string_view payload);
absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseWindowUpdate(absl::string_view payload);

// Encoders. `header_block` is already compressed.
std::string EncodeData(uint32_t stream_id, absl::string_view data, uint8_t flags = 0);
std::string EncodeSynStream(uint32_t stream_id, uint32_t associated_id, uint8_t priority,
                            absl::string_view header_block, uint8_t flags = 0);
std::string EncodeSynReply(uint32_t stream_id, absl::string_view header_block, uint8_t flags = 0);
std::string EncodeRstStream(uint32_t stream_id, RstStatus status);
std::string EncodeSettings(const std::vector<Setting>& settings);
std::string EncodePing(uint32_t id);
std::string EncodeGoAway(uint32_t last_good_stream_id, uint32_t status);
std::string EncodeWindowUpdate(uint32_t stream_id, uint32_t delta);

}  // namespace berth::cri::streaming::spdy
