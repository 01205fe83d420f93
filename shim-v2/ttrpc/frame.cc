#include "shim-v2/ttrpc/frame.h"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "core/status.h"

namespace berth::ttrpc {
namespace {

// Reads exactly n bytes. Returns the count read before EOF (< n on EOF), or -1 with errno.
ssize_t ReadFull(int fd, void* buf, size_t n) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, static_cast<char*>(buf) + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return -1;
    }
    if (r == 0) break;
    done += static_cast<size_t>(r);
  }
  return static_cast<ssize_t>(done);
}

}  // namespace

void EncodeHeader(const FrameHeader& h, uint8_t out[kHeaderSize]) {
  out[0] = h.length >> 24;
  out[1] = h.length >> 16;
  out[2] = h.length >> 8;
  out[3] = h.length;
  out[4] = h.stream_id >> 24;
  out[5] = h.stream_id >> 16;
  out[6] = h.stream_id >> 8;
  out[7] = h.stream_id;
  out[8] = h.type;
  out[9] = h.flags;
}

FrameHeader DecodeHeader(const uint8_t in[kHeaderSize]) {
  FrameHeader h;
  h.length = uint32_t{in[0]} << 24 | uint32_t{in[1]} << 16 | uint32_t{in[2]} << 8 | in[3];
  h.stream_id = uint32_t{in[4]} << 24 | uint32_t{in[5]} << 16 | uint32_t{in[6]} << 8 | in[7];
  h.type = in[8];
  h.flags = in[9];
  return h;
}

absl::Status ReadFrame(int fd, FrameHeader* header, std::string* payload) {
  uint8_t buf[kHeaderSize];
  ssize_t n = ReadFull(fd, buf, kHeaderSize);
  if (n < 0) return ErrnoStatus("ttrpc: read header");
  if (n == 0) return absl::OutOfRangeError("ttrpc: connection closed");
  if (n < static_cast<ssize_t>(kHeaderSize)) return absl::DataLossError("ttrpc: short header");
  *header = DecodeHeader(buf);
  if (header->length > kMaxPayload) {
    return absl::ResourceExhaustedError(absl::StrCat("ttrpc: message length ", header->length,
                                                     " exceeds maximum of ", kMaxPayload));
  }
  payload->resize(header->length);
  if (header->length == 0) return absl::OkStatus();
  n = ReadFull(fd, payload->data(), header->length);
  if (n < 0) return ErrnoStatus("ttrpc: read payload");
  if (n < static_cast<ssize_t>(header->length)) return absl::DataLossError("ttrpc: short payload");
  return absl::OkStatus();
}

absl::Status WriteFrame(int fd, uint32_t stream_id, FrameType type, absl::string_view payload,
                        uint8_t flags) {
  if (payload.size() > kMaxPayload) {
    return absl::InvalidArgumentError(
        absl::StrCat("ttrpc: payload of ", payload.size(), " bytes exceeds 4 MiB"));
  }
  uint8_t hdr[kHeaderSize];
  EncodeHeader({static_cast<uint32_t>(payload.size()), stream_id, static_cast<uint8_t>(type), flags},
               hdr);
  iovec iov[2] = {{hdr, kHeaderSize}, {const_cast<char*>(payload.data()), payload.size()}};
  size_t total = kHeaderSize + payload.size();
  size_t done = 0;
  while (done < total) {
    // Advance the iovecs past what was written already.
    iovec cur[2];
    int cnt = 0;
    size_t skip = done;
    for (const iovec& v : iov) {
      if (skip >= v.iov_len) {
        skip -= v.iov_len;
        continue;
      }
      cur[cnt].iov_base = static_cast<char*>(v.iov_base) + skip;
      cur[cnt].iov_len = v.iov_len - skip;
      skip = 0;
      ++cnt;
    }
    // sendmsg with MSG_NOSIGNAL: a vanished peer is an error, not a SIGPIPE.
    msghdr msg{};
    msg.msg_iov = cur;
    msg.msg_iovlen = cnt;
    ssize_t w = sendmsg(fd, &msg, MSG_NOSIGNAL);
    if (w < 0 && errno == ENOTSOCK) w = writev(fd, cur, cnt);
    if (w < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("ttrpc: write");
    }
    done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace berth::ttrpc
