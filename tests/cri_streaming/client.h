// Test-only clients of the CRI streaming protocols, written from the Kubernetes wire formats
// (not from the server's code paths): a WebSocket channel.k8s.io client and a SPDY/3.1 client,
// both over plain TCP to an http://host:port/... URL as CRI Exec/Attach/PortForward return.
// Used by the in-process server tests and the integration tests against a real berthd.
// Every read is bounded by a socket receive timeout (10 s), so a broken server fails a test
// instead of hanging it.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "absl/strings/string_view.h"
#include "cri/streaming/spdy_headers.h"

namespace berth::cri::streaming::testing {

// Connects to 127.0.0.1:`port` with a 10 s receive timeout; -1 on failure.
int Dial(uint16_t port);
void WriteAllFd(int fd, absl::string_view d);

// Sends "GET <path of url>" with `extra_headers` to the host:port of `url` and returns the
// response head (without the blank line); the socket goes to *fd and bytes read past the
// head to *rest.
std::string Upgrade(const std::string& url, const std::string& extra_headers, int* fd,
                    std::string* rest);

class WsClient {
 public:
  ~WsClient();
  // True on "101" with the RFC 6455 accept key for our fixed nonce.
  bool Connect(const std::string& url, const std::string& protocols);
  // One binary message: the channel byte, then `data` (masked, as a client must).
  void Send(uint8_t channel, absl::string_view data);
  // Reads messages until the server's close frame (answered) or EOF; bytes per channel.
  // `messages_on_error` counts messages on channel 3.
  std::map<int, std::string> ReadAll(int* messages_on_error = nullptr);
  // Reads until `channel` holds `n` bytes (or the connection ends).
  std::string ReadChannel(int channel, size_t n);
  // Reads until `channel`'s bytes so far contain `needle` (or the connection ends); returns
  // them. Messages on other channels are kept for later ReadAll.
  std::string ReadUntilContains(int channel, absl::string_view needle);
  const std::string& head() const { return head_; }

 private:
  // One message (channel, payload) or false at close/EOF/timeout.
  bool Next(int* channel, std::string* payload, bool* closed);

  int fd_ = -1;
  std::string head_, buf_;
  std::map<int, std::string> kept_;
};

// A minimal SPDY/3.1 client: one zlib stream per direction, as spdystream keeps them.
class SpdyClient {
 public:
  ~SpdyClient();
  // `protocol`: X-Stream-Protocol-Version (v4.channel.k8s.io, portforward.k8s.io, ...).
  bool Connect(const std::string& url, const std::string& protocol);
  // SYN_STREAM with `headers`; returns the stream id (odd, increasing).
  uint32_t Open(spdy::HeaderList headers);
  void Data(uint32_t id, absl::string_view d, bool fin);
  // Collects DATA per stream until stream `until` finishes (FIN) or the connection ends.
  std::map<uint32_t, std::string> ReadUntilFin(uint32_t until);
  // Collects DATA until `done(data so far)` is true or the connection ends; returns the data.
  std::map<uint32_t, std::string> ReadUntil(
      const std::function<bool(const std::map<uint32_t, std::string>&)>& done);
  int replies() const { return replies_; }
  const std::string& head() const { return head_; }

 private:
  // Reads one frame (DATA is kept in data_); *fin_stream = its stream when DATA carried FIN.
  // False at EOF/timeout or a bad frame.
  bool Step(uint32_t* fin_stream);

  int fd_ = -1;
  uint32_t next_id_ = 1;
  int replies_ = 0;
  std::string head_, buf_;
  std::map<uint32_t, std::string> data_;
  spdy::HeaderCompressor comp_;
  spdy::HeaderDecompressor decomp_;
};

}  // namespace berth::cri::streaming::testing
