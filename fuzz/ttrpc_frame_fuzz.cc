// ttrpc from a peer: a byte stream cut into frames, each request payload decoded as the shim
// and berthd's events service decode it.
#include <fcntl.h>
#include <unistd.h>

#include <cstdint>
#include <string>
#include <thread>

#include "shim-v2/ttrpc/frame.h"
#include "ttrpc/ttrpc.pb.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return 0;
  // A writer thread, so inputs larger than the pipe buffer cannot block the reader.
  std::thread writer([&] {
    size_t off = 0;
    while (off < size) {
      ssize_t w = write(p[1], data + off, size - off);
      if (w <= 0) break;
      off += static_cast<size_t>(w);
    }
    close(p[1]);
  });
  berth::ttrpc::FrameHeader header;
  std::string payload;
  while (berth::ttrpc::ReadFrame(p[0], &header, &payload).ok()) {
    ::ttrpc::Request req;
    if (req.ParseFromString(payload)) {
      for (const auto& kv : req.metadata()) (void)kv.key().size();
    }
  }
  close(p[0]);  // an early stop (oversized frame) makes the writer's write fail with EPIPE
  writer.join();
  return 0;
}
