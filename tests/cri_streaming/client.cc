#include "tests/cri_streaming/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cri/streaming/spdy_frames.h"
#include "cri/streaming/websocket.h"

namespace berth::cri::streaming::testing {

int Dial(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    close(fd);
    return -1;
  }
  timeval tv{10, 0};  // a hung test fails instead of blocking forever
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  return fd;
}

void WriteAllFd(int fd, absl::string_view d) {
  while (!d.empty()) {
    ssize_t n = send(fd, d.data(), d.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    d.remove_prefix(n);
  }
}

std::string Upgrade(const std::string& url, const std::string& extra_headers, int* fd,
                    std::string* rest) {
  *fd = -1;
  size_t host_end = url.find('/', 7);
  if (url.size() < 8 || host_end == std::string::npos) return "";
  std::string path = url.substr(host_end);
  size_t colon = url.rfind(':', host_end);
  if (colon == std::string::npos) return "";
  uint32_t port = 0;
  if (!absl::SimpleAtoi(url.substr(colon + 1, host_end - colon - 1), &port)) return "";
  *fd = Dial(static_cast<uint16_t>(port));
  if (*fd < 0) return "";
  WriteAllFd(*fd, absl::StrCat("GET ", path, " HTTP/1.1\r\nHost: x\r\n", extra_headers, "\r\n"));
  std::string buf;
  char c[4096];
  while (buf.find("\r\n\r\n") == std::string::npos) {
    ssize_t n = read(*fd, c, sizeof(c));
    if (n <= 0) break;
    buf.append(c, n);
  }
  size_t end = buf.find("\r\n\r\n");
  *rest = end == std::string::npos ? "" : buf.substr(end + 4);
  return buf.substr(0, end);
}

WsClient::~WsClient() {
  if (fd_ >= 0) close(fd_);
}

bool WsClient::Connect(const std::string& url, const std::string& protocols) {
  head_ = Upgrade(url,
                  absl::StrCat("Upgrade: websocket\r\nConnection: Upgrade\r\n"
                               "Sec-WebSocket-Version: 13\r\n"
                               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                               "Sec-WebSocket-Protocol: ",
                               protocols, "\r\n"),
                  &fd_, &buf_);
  return absl::StartsWith(head_, "HTTP/1.1 101") &&
         absl::StrContains(head_, "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

void WsClient::Send(uint8_t channel, absl::string_view data) {
  std::string p(1, static_cast<char>(channel));
  p.append(data.data(), data.size());
  WriteAllFd(fd_, ws::EncodeFrame(ws::Opcode::kBinary, p, true, 0xA1B2C3D4u));
}

bool WsClient::Next(int* channel, std::string* payload, bool* closed) {
  *closed = false;
  char c[4096];
  while (true) {
    size_t consumed;
    auto f = ws::DecodeFrame(buf_, 1 << 24, &consumed);
    if (!f.ok()) return false;
    if (f->has_value()) {
      buf_.erase(0, consumed);
      if ((*f)->opcode == ws::Opcode::kClose) {
        WriteAllFd(fd_, ws::EncodeFrame(ws::Opcode::kClose, (*f)->payload, true, 1u));
        *closed = true;
        return false;
      }
      if ((*f)->payload.empty()) continue;
      *channel = static_cast<uint8_t>((*f)->payload[0]);
      *payload = (*f)->payload.substr(1);
      return true;
    }
    ssize_t n = read(fd_, c, sizeof(c));
    if (n <= 0) return false;
    buf_.append(c, n);
  }
}

std::map<int, std::string> WsClient::ReadAll(int* messages_on_error) {
  std::map<int, std::string> out = std::move(kept_);
  kept_.clear();
  int ch;
  std::string p;
  bool closed;
  while (Next(&ch, &p, &closed)) {
    out[ch] += p;
    if (ch == 3 && messages_on_error) ++*messages_on_error;
  }
  return out;
}

std::string WsClient::ReadChannel(int channel, size_t n) {
  std::string got;
  int ch;
  std::string p;
  bool closed;
  while (got.size() < n && Next(&ch, &p, &closed)) {
    if (ch == channel) got += p;
  }
  return got;
}

std::string WsClient::ReadUntilContains(int channel, absl::string_view needle) {
  int ch;
  std::string p;
  bool closed;
  while (!absl::StrContains(kept_[channel], needle) && Next(&ch, &p, &closed)) kept_[ch] += p;
  return kept_[channel];
}

SpdyClient::~SpdyClient() {
  if (fd_ >= 0) close(fd_);
}

bool SpdyClient::Connect(const std::string& url, const std::string& protocol) {
  head_ = Upgrade(url,
                  absl::StrCat("Connection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
                               "X-Stream-Protocol-Version: ",
                               protocol, "\r\n"),
                  &fd_, &buf_);
  return absl::StartsWith(head_, "HTTP/1.1 101");
}

uint32_t SpdyClient::Open(spdy::HeaderList headers) {
  uint32_t id = next_id_;
  next_id_ += 2;
  WriteAllFd(fd_, spdy::EncodeSynStream(id, 0, 0, *comp_.Compress(headers)));
  return id;
}

void SpdyClient::Data(uint32_t id, absl::string_view d, bool fin) {
  WriteAllFd(fd_, spdy::EncodeData(id, d, fin ? spdy::kFlagFin : 0));
}

bool SpdyClient::Step(uint32_t* fin_stream) {
  *fin_stream = 0;
  char c[8192];
  while (true) {
    size_t consumed;
    auto f = spdy::DecodeFrame(buf_, 1 << 24, &consumed);
    if (!f.ok()) return false;
    if (f->has_value()) {
      buf_.erase(0, consumed);
      spdy::RawFrame& fr = **f;
      if (fr.control && fr.type == static_cast<uint16_t>(spdy::FrameType::kSynReply)) {
        auto sr = spdy::ParseStreamHeaders(fr.payload);
        if (sr.ok() && decomp_.Decompress(sr->second).ok()) ++replies_;
      } else if (!fr.control) {
        data_[fr.stream_id] += fr.payload;
        if (fr.flags & spdy::kFlagFin) *fin_stream = fr.stream_id;
      }
      return true;
    }
    ssize_t n = read(fd_, c, sizeof(c));
    if (n <= 0) return false;
    buf_.append(c, n);
  }
}

std::map<uint32_t, std::string> SpdyClient::ReadUntilFin(uint32_t until) {
  uint32_t fin = 0;
  while (fin != until && Step(&fin)) {
  }
  return data_;
}

std::map<uint32_t, std::string> SpdyClient::ReadUntil(
    const std::function<bool(const std::map<uint32_t, std::string>&)>& done) {
  uint32_t fin = 0;
  while (!done(data_) && Step(&fin)) {
  }
  return data_;
}

}  // namespace berth::cri::streaming::testing
