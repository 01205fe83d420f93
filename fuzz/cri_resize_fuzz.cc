// The resize channel of CRI exec/attach (channel 4 of channel.k8s.io, the "resize" SPDY stream):
// a kubectl client's stream of {"Width":w,"Height":h} objects, cut into frames as the client's
// transport pleases. Input: [cut seed][stream]. The stream goes through a TTY CommandSession's
// FeedResize in frames of 1..64 bytes chosen from the seed, and the runtime's side of the
// session (Streams::resize, in Run) takes the sizes out, as the shim-facing code does.
//
// Checked: how the stream is cut does not change what comes out. A fresh ResizeDecoder fed the
// whole stream at once gives the same sizes (the queue keeps the newest kMaxPending) as long as
// the stream is within the decoder's 4 KiB bound for an unfinished object; and no more sizes
// come out than the stream has closing braces.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "cri/streaming/remotecommand.h"

namespace {

using berth::cri::streaming::Channel;
using berth::cri::streaming::CommandOptions;
using berth::cri::streaming::CommandOutput;
using berth::cri::streaming::CommandSession;
using berth::cri::streaming::ResizeDecoder;
using berth::cri::streaming::ResizeQueue;
using berth::cri::streaming::Streams;
using berth::cri::streaming::TerminalSize;

class NoOutput : public CommandOutput {
 public:
  absl::Status Send(Channel, absl::string_view) override { return absl::OkStatus(); }
};

void Fail(const char* what) {
  std::fprintf(stderr, "cri_resize: %s\n", what);
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  uint32_t cut = data[0];
  absl::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);

  CommandSession session(
      CommandOptions{.stdin = false, .stdout = false, .stderr = false, .tty = true});
  if (!session.Init().ok()) Fail("init");
  for (size_t off = 0; off < stream.size();) {
    cut = cut * 1103515245 + 12345;  // frame lengths 1..64 from the seed
    size_t len = std::min<size_t>(1 + (cut >> 16) % 64, stream.size() - off);
    session.FeedResize(stream.substr(off, len));
    off += len;
  }
  std::vector<TerminalSize> got;
  NoOutput out;
  auto result = session.Run(out, [&got](Streams& s) -> absl::StatusOr<int> {
    if (s.resize == nullptr) Fail("a TTY session without a resize queue");
    while (auto size = s.resize->NextWithTimeout(absl::ZeroDuration())) got.push_back(*size);
    return 0;
  });
  if (!result.ok()) Fail("run");

  std::vector<TerminalSize> whole = ResizeDecoder().Feed(stream);
  if (whole.size() > static_cast<size_t>(std::count(stream.begin(), stream.end(), '}'))) {
    Fail("more sizes than objects");
  }
  if (stream.size() <= 4096) {
    size_t keep = std::min(whole.size(), ResizeQueue::kMaxPending);
    if (!std::equal(got.begin(), got.end(), whole.end() - keep, whole.end()) ||
        got.size() != keep) {
      Fail("the sizes depend on how the stream was cut");
    }
  }
  return 0;
}
