#include "cri/streaming/spdy_frames.h"

#include "cri/streaming/byte_order.h"

namespace berth::cri::streaming::spdy {
namespace {

// flags (8 bits) + length (24 bits).
void PutFlagsLength(std::string& out, uint8_t flags, size_t length) {
  Put32(out, (uint32_t{flags} << 24) | static_cast<uint32_t>(length & 0xFFFFFF));
}

std::string Control(FrameType type, uint8_t flags, absl::string_view payload) {
  std::string out;
  out.reserve(8 + payload.size());
  Put32(out, 0x80000000u | (uint32_t{kVersion} << 16) | static_cast<uint16_t>(type));
  PutFlagsLength(out, flags, payload.size());
  out.append(payload.data(), payload.size());
  return out;
}

absl::Status Short(absl::string_view what) {
  return absl::InvalidArgumentError(std::string("spdy: short ") + std::string(what));
}

}  // namespace

absl::StatusOr<std::optional<RawFrame>> DecodeFrame(absl::string_view buf, size_t max_payload,
                                                    size_t* consumed) {
  if (buf.size() < 8) return std::nullopt;
  uint32_t first = Be32(buf.data());
  uint32_t second = Be32(buf.data() + 4);
  size_t length = second & 0xFFFFFF;
  if (length > max_payload) return absl::ResourceExhaustedError("spdy: frame too large");
  if (buf.size() < 8 + length) return std::nullopt;
  RawFrame frame;
  frame.control = first & 0x80000000u;
  if (frame.control) {
    frame.version = (first >> 16) & 0x7FFF;
    frame.type = first & 0xFFFF;
  } else {
    frame.stream_id = first & 0x7FFFFFFF;
  }
  frame.flags = static_cast<uint8_t>(second >> 24);
  frame.payload.assign(buf.data() + 8, length);
  *consumed = 8 + length;
  return frame;
}

absl::StatusOr<SynStream> ParseSynStream(absl::string_view p) {
  if (p.size() < 10) return Short("SYN_STREAM");
  SynStream s;
  s.stream_id = Be32(p.data()) & 0x7FFFFFFF;
  s.associated_id = Be32(p.data() + 4) & 0x7FFFFFFF;
  s.priority = static_cast<uint8_t>(p[8]) >> 5;
  if (s.stream_id == 0) return absl::InvalidArgumentError("spdy: SYN_STREAM for stream 0");
  s.header_block.assign(p.data() + 10, p.size() - 10);
  return s;
}

absl::StatusOr<std::pair<uint32_t, std::string>> ParseStreamHeaders(absl::string_view p) {
  if (p.size() < 4) return Short("SYN_REPLY/HEADERS");
  uint32_t id = Be32(p.data()) & 0x7FFFFFFF;
  if (id == 0) return absl::InvalidArgumentError("spdy: headers for stream 0");
  return std::make_pair(id, std::string(p.substr(4)));
}

absl::StatusOr<std::pair<uint32_t, RstStatus>> ParseRstStream(absl::string_view p) {
  if (p.size() != 8) return Short("RST_STREAM");
  return std::make_pair(Be32(p.data()) & 0x7FFFFFFF, static_cast<RstStatus>(Be32(p.data() + 4)));
}

absl::StatusOr<std::vector<Setting>> ParseSettings(absl::string_view p) {
  if (p.size() < 4) return Short("SETTINGS");
  uint32_t n = Be32(p.data());
  if (p.size() != 4 + size_t{n} * 8) return absl::InvalidArgumentError("spdy: bad SETTINGS size");
  std::vector<Setting> out;
  for (uint32_t i = 0; i < n; ++i) {
    const char* e = p.data() + 4 + i * 8;
    uint32_t fid = Be32(e);
    out.push_back(Setting{static_cast<uint8_t>(fid >> 24), fid & 0xFFFFFF, Be32(e + 4)});
  }
  return out;
}

absl::StatusOr<uint32_t> ParsePing(absl::string_view p) {
  if (p.size() != 4) return Short("PING");
  return Be32(p.data());
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseGoAway(absl::string_view p) {
  if (p.size() != 8) return Short("GOAWAY");
  return std::make_pair(Be32(p.data()) & 0x7FFFFFFF, Be32(p.data() + 4));
}

absl::StatusOr<std::pair<uint32_t, uint32_t>> ParseWindowUpdate(absl::string_view p) {
  if (p.size() != 8) return Short("WINDOW_UPDATE");
  uint32_t delta = Be32(p.data() + 4) & 0x7FFFFFFF;
  if (delta == 0) return absl::InvalidArgumentError("spdy: WINDOW_UPDATE with delta 0");
  return std::make_pair(Be32(p.data()) & 0x7FFFFFFF, delta);
}

std::string EncodeData(uint32_t stream_id, absl::string_view data, uint8_t flags) {
  std::string out;
  out.reserve(8 + data.size());
  Put32(out, stream_id & 0x7FFFFFFF);
  PutFlagsLength(out, flags, data.size());
  out.append(data.data(), data.size());
  return out;
}

std::string EncodeSynStream(uint32_t stream_id, uint32_t associated_id, uint8_t priority,
                            absl::string_view header_block, uint8_t flags) {
  std::string p;
  Put32(p, stream_id & 0x7FFFFFFF);
  Put32(p, associated_id & 0x7FFFFFFF);
  p.push_back(static_cast<char>((priority & 0x7) << 5));
  p.push_back(0);  // credential slot
  p.append(header_block.data(), header_block.size());
  return Control(FrameType::kSynStream, flags, p);
}

std::string EncodeSynReply(uint32_t stream_id, absl::string_view header_block, uint8_t flags) {
  std::string p;
  Put32(p, stream_id & 0x7FFFFFFF);
  p.append(header_block.data(), header_block.size());
  return Control(FrameType::kSynReply, flags, p);
}

std::string EncodeRstStream(uint32_t stream_id, RstStatus status) {
  std::string p;
  Put32(p, stream_id & 0x7FFFFFFF);
  Put32(p, static_cast<uint32_t>(status));
  return Control(FrameType::kRstStream, 0, p);
}

std::string EncodeSettings(const std::vector<Setting>& settings) {
  std::string p;
  Put32(p, static_cast<uint32_t>(settings.size()));
  for (const Setting& s : settings) {
    Put32(p, (uint32_t{s.flags} << 24) | (s.id & 0xFFFFFF));
    Put32(p, s.value);
  }
  return Control(FrameType::kSettings, 0, p);
}

std::string EncodePing(uint32_t id) {
  std::string p;
  Put32(p, id);
  return Control(FrameType::kPing, 0, p);
}

std::string EncodeGoAway(uint32_t last_good_stream_id, uint32_t status) {
  std::string p;
  Put32(p, last_good_stream_id & 0x7FFFFFFF);
  Put32(p, status);
  return Control(FrameType::kGoAway, 0, p);
}

std::string EncodeWindowUpdate(uint32_t stream_id, uint32_t delta) {
  std::string p;
  Put32(p, stream_id & 0x7FFFFFFF);
  Put32(p, delta & 0x7FFFFFFF);
  return Control(FrameType::kWindowUpdate, 0, p);
}

}  // namespace berth::cri::streaming::spdy
