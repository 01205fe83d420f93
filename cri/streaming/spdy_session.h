// The server side of one SPDY/3.1 connection: reads frames, accepts client streams, answers
// PING, tracks flow-control windows, and lets handler threads read and write streams.
//
// Flow control: SPDY/3.1 gives each stream a 64 KiB send window that the receiver re-opens
// with WINDOW_UPDATE. moby/spdystream (kubectl, crictl, kubelet) never sends WINDOW_UPDATE or
// SETTINGS and ignores ours, so honouring windows unconditionally would stall every session
// after 64 KiB of output. We therefore enforce the send window only once the peer has shown it
// speaks flow control (it sent a WINDOW_UPDATE or SETTINGS_INITIAL_WINDOW_SIZE); we always
// grant the peer window as our handlers consume its data; and we bound what we buffer per
// stream by pausing the read loop (TCP back-pressure) instead of trusting the peer.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "cri/streaming/http.h"
#include "cri/streaming/spdy_frames.h"
#include "cri/streaming/spdy_headers.h"

namespace berth::cri::streaming::spdy {

class Session;

class Stream {
 public:
  uint32_t id() const { return id_; }
  const HeaderList& headers() const { return headers_; }
  std::string Header(absl::string_view name) const { return GetHeader(headers_, name); }

  // Blocks for the next chunk the peer sent. "" means EOF: the peer finished (FIN), reset the
  // stream, or the connection ended.
  std::string Read();
  // Sends `data` as DATA frames, waiting for send window when flow control is on.
  // Unavailable once the stream was reset, the connection ended, or after Close().
  absl::Status Write(absl::string_view data);
  // Half-closes our side (empty DATA with FIN). Idempotent.
  absl::Status Close();
  // Aborts the stream in both directions (RST_STREAM).
  void Reset(RstStatus status = RstStatus::kCancel);

 private:
  friend class Session;
  Stream(Session* session, uint32_t id, HeaderList headers, int64_t send_window)
      : session_(session), id_(id), headers_(std::move(headers)), send_window_(send_window) {}

  Session* session_;
  const uint32_t id_;
  const HeaderList headers_;
  absl::Mutex mu_;
  std::deque<std::string> inbound_ ABSL_GUARDED_BY(mu_);
  size_t buffered_ ABSL_GUARDED_BY(mu_) = 0;
  bool remote_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool local_closed_ ABSL_GUARDED_BY(mu_) = false;
  bool reset_ ABSL_GUARDED_BY(mu_) = false;
  int64_t send_window_ ABSL_GUARDED_BY(mu_);
};

class Session {
 public:
  struct Options {
    size_t max_streams = 32;  // concurrent client streams; more are refused
    absl::Duration idle_timeout = absl::Hours(4);
    size_t max_frame = 1 << 20;          // largest frame payload accepted
    size_t max_stream_buffer = 1 << 20;  // unread bytes per stream before the reader pauses
  };

  // `initial` holds bytes that arrived behind the HTTP upgrade request.
  Session(Conn& conn, std::string initial, Options options);
  ~Session();

  // Runs the read loop on the calling thread until the connection ends (EOF, error, idle
  // timeout, GOAWAY plus EOF, or Shutdown()). `on_stream` runs on this thread for each new
  // stream, after its SYN_REPLY went out; it must not block. Returns why the loop ended
  // (OK for a clean EOF).
  absl::Status Serve(std::function<void(std::shared_ptr<Stream>)> on_stream);

  // Sends GOAWAY once (no new streams; the client closes when its streams are done).
  void SendGoAway();
  // Sends GOAWAY (once) and closes the connection, waking every blocked Read/Write.
  void Shutdown();
  bool closed();

 private:
  friend class Stream;
  absl::Status WriteFrame(absl::string_view frame);
  absl::Status HandleControl(const RawFrame& frame,
                             const std::function<void(std::shared_ptr<Stream>)>& on_stream);
  absl::Status HandleSynStream(const RawFrame& frame,
                               const std::function<void(std::shared_ptr<Stream>)>& on_stream);
  void HandleData(const RawFrame& frame);
  std::shared_ptr<Stream> Find(uint32_t id);
  void MaybeForget(Stream* stream);
  void CloseAllStreams();
  void GrantWindow(uint32_t stream_id, size_t bytes);

  Conn& conn_;
  std::string buf_;
  const Options options_;
  HeaderCompressor compressor_;  // guarded by write_mu_
  HeaderDecompressor decompressor_;
  absl::Mutex write_mu_;
  std::atomic<int64_t> last_activity_ns_{0};
  std::atomic<bool> flow_control_{false};
  std::atomic<bool> closed_{false};
  std::atomic<bool> goaway_sent_{false};

  absl::Mutex mu_;
  std::map<uint32_t, std::shared_ptr<Stream>> streams_ ABSL_GUARDED_BY(mu_);
  uint32_t last_stream_id_ ABSL_GUARDED_BY(mu_) = 0;
  bool peer_goaway_ ABSL_GUARDED_BY(mu_) = false;
  int64_t initial_window_ ABSL_GUARDED_BY(mu_) = kDefaultWindow;
};

}  // namespace berth::cri::streaming::spdy
