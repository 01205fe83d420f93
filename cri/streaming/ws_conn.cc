#include "cri/streaming/ws_conn.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "cri/streaming/websocket.h"

namespace berth::cri::streaming {
namespace {

constexpr size_t kMaxMessage = 16 << 20;

int64_t NowNs() { return absl::ToUnixNanos(absl::Now()); }

}  // namespace

WsChannelConn::WsChannelConn(Conn& conn, std::string leftover, std::string protocol,
                             absl::Duration idle)
    : conn_(conn),
      buf_(std::move(leftover)),
      protocol_(std::move(protocol)),
      base64_(absl::StrContains(protocol_, "base64.")),
      idle_timeout_(idle) {
  last_activity_ns_ = NowNs();
}

absl::StatusOr<std::unique_ptr<WsChannelConn>> WsChannelConn::Accept(
    Conn& conn, const HttpRequest& req, std::string leftover,
    const std::vector<std::string>& supported, absl::Duration idle_timeout) {
  std::string key = req.Header("sec-websocket-key");
  std::string decoded;
  if (req.method != "GET" || !req.HeaderHasToken("upgrade", "websocket") ||
      !req.HeaderHasToken("connection", "upgrade") || key.empty() ||
      !absl::Base64Unescape(key, &decoded) || decoded.size() != 16) {
    conn.WriteAll(HttpError(400, "Bad Request", "invalid websocket handshake")).IgnoreError();
    return absl::InvalidArgumentError("websocket: invalid handshake");
  }
  if (req.Header("sec-websocket-version") != "13") {
    conn.WriteAll(HttpResponse(426, "Upgrade Required", {{"Sec-WebSocket-Version", "13"}}))
        .IgnoreError();
    return absl::InvalidArgumentError("websocket: unsupported version");
  }
  std::vector<std::string> offered = req.HeaderTokens("sec-websocket-protocol");
  if (offered.empty()) offered.push_back("");
  const std::string* chosen = nullptr;
  for (const std::string& p : offered) {
    for (const std::string& s : supported) {
      if (p == s) {
        chosen = &s;
        break;
      }
    }
    if (chosen) break;
  }
  if (!chosen) {
    std::string msg = absl::StrCat("requested protocol(s) are not supported: ",
                                   absl::StrJoin(offered, ","), "; supports ",
                                   absl::StrJoin(supported, ","));
    conn.WriteAll(HttpError(400, "Bad Request", msg)).IgnoreError();
    return absl::FailedPreconditionError(msg);
  }
  std::vector<std::pair<std::string, std::string>> headers = {
      {"Upgrade", "websocket"},
      {"Connection", "Upgrade"},
      {"Sec-WebSocket-Accept", ws::AcceptKey(key)}};
  if (!chosen->empty()) headers.emplace_back("Sec-WebSocket-Protocol", *chosen);
  absl::Status st = conn.WriteAll(HttpResponse(101, "Switching Protocols", headers));
  if (!st.ok()) return st;
  return std::unique_ptr<WsChannelConn>(
      new WsChannelConn(conn, std::move(leftover), *chosen, idle_timeout));
}

absl::Status WsChannelConn::WriteFrame(const std::string& frame) {
  absl::MutexLock lock(&write_mu_);
  last_activity_ns_ = NowNs();
  return conn_.WriteAll(frame);
}

absl::Status WsChannelConn::Send(uint8_t channel, absl::string_view data) {
  if (close_sent_.load()) return absl::UnavailableError("websocket: closing");
  if (base64_) {
    std::string text(1, static_cast<char>('0' + channel));
    text += absl::Base64Escape(data);
    return WriteFrame(ws::EncodeFrame(ws::Opcode::kText, text));
  }
  std::string payload(1, static_cast<char>(channel));
  payload.append(data.data(), data.size());
  return WriteFrame(ws::EncodeFrame(ws::Opcode::kBinary, payload));
}

void WsChannelConn::Close(uint16_t code, absl::string_view reason) {
  if (close_sent_.exchange(true)) return;
  WriteFrame(ws::EncodeFrame(ws::Opcode::kClose, ws::ClosePayload(code, reason))).IgnoreError();
}

void WsChannelConn::ReadLoop(const std::function<void(uint8_t, std::string)>& on_message) {
  ws::MessageAssembler assembler(kMaxMessage);
  char chunk[16384];
  while (true) {
    size_t consumed = 0;
    auto frame = ws::DecodeFrame(buf_, kMaxMessage, &consumed);
    if (!frame.ok()) {
      Close(absl::IsResourceExhausted(frame.status()) ? 1009 : 1002, "protocol error");
      return;
    }
    if (frame->has_value()) {
      buf_.erase(0, consumed);
      if (!(*frame)->masked) {  // RFC 6455 5.1: a server must close on unmasked client frames
        Close(1002, "unmasked frame");
        return;
      }
      auto message = assembler.Add(std::move(**frame));
      if (!message.ok()) {
        Close(1002, "bad fragmentation");
        return;
      }
      if (!message->has_value()) continue;
      ws::Frame& m = **message;
      switch (m.opcode) {
        case ws::Opcode::kPing: {
          absl::MutexLock lock(&write_mu_);
          conn_.WriteAll(ws::EncodeFrame(ws::Opcode::kPong, m.payload)).IgnoreError();
          break;
        }
        case ws::Opcode::kPong:
          break;
        case ws::Opcode::kClose:
          Close(1000, "");
          return;
        default: {
          if (m.payload.empty()) break;
          uint8_t channel = static_cast<uint8_t>(m.payload[0]);
          std::string data = m.payload.substr(1);
          if (base64_) {
            channel = static_cast<uint8_t>(channel - '0');
            std::string raw;
            if (!absl::Base64Unescape(data, &raw)) break;  // kubelet drops undecodable frames
            data = std::move(raw);
          }
          on_message(channel, std::move(data));
        }
      }
      continue;
    }
    auto n = conn_.Read(chunk, sizeof(chunk), absl::Seconds(1));
    if (!n.ok() && absl::IsDeadlineExceeded(n.status())) {
      if (absl::FromUnixNanos(last_activity_ns_.load()) + idle_timeout_ < absl::Now()) {
        Close(1001, "idle timeout");
        return;
      }
      continue;
    }
    if (!n.ok() || *n == 0) return;
    last_activity_ns_ = NowNs();
    buf_.append(chunk, *n);
  }
}

}  // namespace berth::cri::streaming
