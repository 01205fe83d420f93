#include "cri/streaming/spdy_session.h"

#include "absl/strings/str_cat.h"

namespace berth::cri::streaming::spdy {
namespace {

// Small DATA frames keep one busy stream from starving the others on the shared socket.
constexpr size_t kMaxDataFrame = 32 * 1024;

int64_t NowNs() { return absl::ToUnixNanos(absl::Now()); }

}  // namespace

std::string Stream::Read() {
  std::string chunk;
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !inbound_.empty() || remote_closed_ || reset_;
    };
    mu_.Await(absl::Condition(&ready));
    if (inbound_.empty()) return "";
    chunk = std::move(inbound_.front());
    inbound_.pop_front();
    buffered_ -= chunk.size();
  }
  session_->GrantWindow(id_, chunk.size());
  return chunk;
}

absl::Status Stream::Write(absl::string_view data) {
  while (!data.empty()) {
    size_t n = std::min(data.size(), kMaxDataFrame);
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
        return reset_ || local_closed_ || send_window_ > 0 || !session_->flow_control_.load();
      };
      mu_.Await(absl::Condition(&ready));
      if (reset_ || local_closed_) {
        return absl::UnavailableError(absl::StrCat("spdy: stream ", id_, " is closed"));
      }
      if (session_->flow_control_.load()) {
        n = std::min<size_t>(n, static_cast<size_t>(send_window_));
        send_window_ -= static_cast<int64_t>(n);
      }
    }
    absl::Status st = session_->WriteFrame(EncodeData(id_, data.substr(0, n)));
    if (!st.ok()) return st;
    data.remove_prefix(n);
  }
  return absl::OkStatus();
}

absl::Status Stream::Close() {
  {
    absl::MutexLock lock(&mu_);
    if (local_closed_ || reset_) return absl::OkStatus();
    local_closed_ = true;
  }
  absl::Status st = session_->WriteFrame(EncodeData(id_, "", kFlagFin));
  session_->MaybeForget(this);
  return st;
}

void Stream::Reset(RstStatus status) {
  {
    absl::MutexLock lock(&mu_);
    if (reset_) return;
    reset_ = true;
  }
  session_->WriteFrame(EncodeRstStream(id_, status)).IgnoreError();
  session_->MaybeForget(this);
}

Session::Session(Conn& conn, std::string initial, Options options)
    : conn_(conn), buf_(std::move(initial)), options_(options) {
  last_activity_ns_ = NowNs();
}

Session::~Session() { Shutdown(); }

bool Session::closed() { return closed_.load(); }

absl::Status Session::WriteFrame(absl::string_view frame) {
  absl::MutexLock lock(&write_mu_);
  if (closed_.load()) return absl::UnavailableError("spdy: connection closed");
  last_activity_ns_ = NowNs();
  return conn_.WriteAll(frame);
}

void Session::SendGoAway() {
  if (goaway_sent_.exchange(true)) return;
  uint32_t last;
  {
    absl::MutexLock lock(&mu_);
    last = last_stream_id_;
  }
  WriteFrame(EncodeGoAway(last, 0)).IgnoreError();
}

void Session::Shutdown() {
  SendGoAway();
  closed_ = true;
  conn_.Shutdown();
  CloseAllStreams();
}

void Session::CloseAllStreams() {
  std::map<uint32_t, std::shared_ptr<Stream>> streams;
  {
    absl::MutexLock lock(&mu_);
    streams.swap(streams_);
  }
  for (auto& [id, s] : streams) {
    absl::MutexLock lock(&s->mu_);
    s->reset_ = true;
  }
}

std::shared_ptr<Stream> Session::Find(uint32_t id) {
  absl::MutexLock lock(&mu_);
  auto it = streams_.find(id);
  return it == streams_.end() ? nullptr : it->second;
}

// A stream leaves the table (and stops counting against max_streams) once both sides closed.
void Session::MaybeForget(Stream* stream) {
  bool done;
  {
    absl::MutexLock lock(&stream->mu_);
    done = stream->reset_ || (stream->local_closed_ && stream->remote_closed_);
  }
  if (!done) return;
  absl::MutexLock lock(&mu_);
  streams_.erase(stream->id_);
}

void Session::GrantWindow(uint32_t stream_id, size_t bytes) {
  if (bytes == 0 || closed_.load()) return;
  WriteFrame(EncodeWindowUpdate(stream_id, static_cast<uint32_t>(bytes))).IgnoreError();
}

absl::Status Session::Serve(std::function<void(std::shared_ptr<Stream>)> on_stream) {
  absl::Status result = absl::OkStatus();
  char chunk[16384];
  while (!closed_.load()) {
    size_t consumed = 0;
    absl::StatusOr<std::optional<RawFrame>> frame =
        DecodeFrame(buf_, options_.max_frame, &consumed);
    if (!frame.ok()) {
      result = frame.status();
      break;
    }
    if (frame->has_value()) {
      buf_.erase(0, consumed);
      RawFrame& f = **frame;
      if (f.control) {
        absl::Status st = HandleControl(f, on_stream);
        if (!st.ok()) {
          result = st;
          break;
        }
      } else {
        HandleData(f);
      }
      continue;
    }
    absl::StatusOr<size_t> n = conn_.Read(chunk, sizeof(chunk), absl::Seconds(1));
    if (!n.ok() && absl::IsDeadlineExceeded(n.status())) {
      if (absl::FromUnixNanos(last_activity_ns_.load()) + options_.idle_timeout < absl::Now()) {
        result = absl::DeadlineExceededError("spdy: connection idle");
        break;
      }
      continue;
    }
    if (!n.ok()) {
      result = n.status();
      break;
    }
    if (*n == 0) break;  // peer closed
    last_activity_ns_ = NowNs();
    buf_.append(chunk, *n);
  }
  Shutdown();
  return result;
}

absl::Status Session::HandleControl(const RawFrame& f,
                                    const std::function<void(std::shared_ptr<Stream>)>& on_stream) {
  if (f.version != kVersion) {
    return absl::InvalidArgumentError(absl::StrCat("spdy: unsupported version ", f.version));
  }
  switch (static_cast<FrameType>(f.type)) {
    case FrameType::kSynStream:
      return HandleSynStream(f, on_stream);
    case FrameType::kSynReply:
    case FrameType::kHeaders: {
      // We open no streams and need no trailers, but the block must still be inflated to keep
      // the shared zlib stream in step.
      auto parsed = ParseStreamHeaders(f.payload);
      if (!parsed.ok()) return parsed.status();
      return decompressor_.Decompress(parsed->second).status();
    }
    case FrameType::kRstStream: {
      auto parsed = ParseRstStream(f.payload);
      if (!parsed.ok()) return parsed.status();
      if (auto s = Find(parsed->first)) {
        {
          absl::MutexLock lock(&s->mu_);
          s->reset_ = true;
        }
        MaybeForget(s.get());
      }
      return absl::OkStatus();
    }
    case FrameType::kSettings: {
      auto settings = ParseSettings(f.payload);
      if (!settings.ok()) return settings.status();
      for (const Setting& s : *settings) {
        if (s.id == kSettingsInitialWindowSize && s.value <= 0x7FFFFFFF) {
          flow_control_ = true;
          absl::MutexLock lock(&mu_);
          initial_window_ = s.value;
        }
      }
      return absl::OkStatus();
    }
    case FrameType::kPing: {
      auto id = ParsePing(f.payload);
      if (!id.ok()) return id.status();
      // Odd ids come from the client (server pings are even): echo them.
      if (*id % 2 == 1) return WriteFrame(EncodePing(*id));
      return absl::OkStatus();
    }
    case FrameType::kGoAway: {
      absl::MutexLock lock(&mu_);
      peer_goaway_ = true;
      return absl::OkStatus();
    }
    case FrameType::kWindowUpdate: {
      auto parsed = ParseWindowUpdate(f.payload);
      if (!parsed.ok()) return parsed.status();
      flow_control_ = true;
      if (parsed->first == 0) return absl::OkStatus();  // 3.1 session window: not enforced
      if (auto s = Find(parsed->first)) {
        absl::MutexLock lock(&s->mu_);
        s->send_window_ += parsed->second;
      }
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();  // unknown control frames are ignored, as the spec asks
}

absl::Status Session::HandleSynStream(
    const RawFrame& f, const std::function<void(std::shared_ptr<Stream>)>& on_stream) {
  auto syn = ParseSynStream(f.payload);
  if (!syn.ok()) return syn.status();
  auto headers = decompressor_.Decompress(syn->header_block);
  if (!headers.ok()) return headers.status();  // zlib stream out of step: connection over
  std::shared_ptr<Stream> stream;
  RstStatus refuse = RstStatus::kProtocolError;
  {
    absl::MutexLock lock(&mu_);
    if (syn->stream_id % 2 == 1 && syn->stream_id > last_stream_id_ && !peer_goaway_ &&
        streams_.size() < options_.max_streams) {
      last_stream_id_ = syn->stream_id;
      stream.reset(new Stream(this, syn->stream_id, std::move(*headers), initial_window_));
      if (f.flags & kFlagFin) stream->remote_closed_ = true;
      streams_[syn->stream_id] = stream;
    } else if (streams_.size() >= options_.max_streams) {
      refuse = RstStatus::kRefusedStream;
    }
  }
  if (!stream) return WriteFrame(EncodeRstStream(syn->stream_id, refuse));
  absl::StatusOr<std::string> block;
  {
    absl::MutexLock lock(&write_mu_);
    block = compressor_.Compress({});
  }
  if (!block.ok()) return block.status();
  absl::Status st = WriteFrame(EncodeSynReply(syn->stream_id, *block));
  if (!st.ok()) return st;
  on_stream(stream);
  return absl::OkStatus();
}

void Session::HandleData(const RawFrame& f) {
  std::shared_ptr<Stream> s = Find(f.stream_id);
  if (!s) {
    // Data for a stream we reset or never saw: tell the peer once per frame.
    WriteFrame(EncodeRstStream(f.stream_id, RstStatus::kInvalidStream)).IgnoreError();
    return;
  }
  {
    absl::MutexLock lock(&s->mu_);
    if (s->remote_closed_ || s->reset_) return;
    if (!f.payload.empty()) {
      s->buffered_ += f.payload.size();
      s->inbound_.push_back(f.payload);
    }
    if (f.flags & kFlagFin) s->remote_closed_ = true;
    // Back-pressure: stop reading the socket until the handler catches up.
    size_t limit = options_.max_stream_buffer;
    auto drained = [s, limit]() ABSL_SHARED_LOCKS_REQUIRED(s->mu_) {
      return s->buffered_ <= limit || s->reset_;
    };
    s->mu_.Await(absl::Condition(&drained));
  }
  if (f.flags & kFlagFin) MaybeForget(s.get());
}

}  // namespace berth::cri::streaming::spdy
