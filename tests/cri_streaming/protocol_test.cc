// Unit tests: WebSocket framing, SPDY frames and header compression, tokens, validation,
// the resize JSON stream and the v4 status.
#include <openssl/sha.h>
#include <zlib.h>

#include "absl/strings/escaping.h"
#include "cri/streaming/remotecommand.h"
#include "cri/streaming/server.h"
#include "cri/streaming/spdy_frames.h"
#include "cri/streaming/spdy_headers.h"
#include "cri/streaming/token_cache.h"
#include "cri/streaming/websocket.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"

namespace berth::cri::streaming {
namespace {

TEST(WebSocket, AcceptKeyMatchesRfc6455Example) {
  EXPECT_EQ(ws::AcceptKey("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocket, MaskedRoundTripAllLengthForms) {
  for (size_t len : {0u, 5u, 125u, 126u, 65535u, 65536u, 200000u}) {
    std::string payload(len, 'x');
    for (size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(i * 7);
    std::string wire = ws::EncodeFrame(ws::Opcode::kBinary, payload, true, 0x11223344u);
    size_t consumed = 0;
    auto frame = ws::DecodeFrame(wire, 1 << 20, &consumed);
    ASSERT_TRUE(frame.ok()) << frame.status();
    ASSERT_TRUE(frame->has_value());
    EXPECT_EQ(consumed, wire.size());
    EXPECT_TRUE((*frame)->masked);
    EXPECT_EQ((*frame)->payload, payload) << len;
    // Any prefix is "incomplete", never an error.
    auto partial = ws::DecodeFrame(absl::string_view(wire).substr(0, wire.size() - 1), 1 << 20,
                                   &consumed);
    ASSERT_TRUE(partial.ok());
    EXPECT_FALSE(partial->has_value());
  }
}

TEST(WebSocket, MaskingActuallyChangesBytes) {
  std::string wire = ws::EncodeFrame(ws::Opcode::kText, "hello", true, 0x01020304u);
  EXPECT_EQ(wire.find("hello"), std::string::npos);
  EXPECT_EQ(static_cast<uint8_t>(wire[1]) & 0x80, 0x80);
}

TEST(WebSocket, RejectsViolations) {
  size_t consumed;
  std::string rsv = ws::EncodeFrame(ws::Opcode::kBinary, "a");
  rsv[0] = static_cast<char>(rsv[0] | 0x40);
  EXPECT_FALSE(ws::DecodeFrame(rsv, 100, &consumed).ok());
  std::string fragmented_ping = ws::EncodeFrame(ws::Opcode::kPing, "a", /*fin=*/false);
  EXPECT_FALSE(ws::DecodeFrame(fragmented_ping, 100, &consumed).ok());
  std::string big_close = ws::EncodeFrame(ws::Opcode::kClose, std::string(126, 'a'));
  EXPECT_FALSE(ws::DecodeFrame(big_close, 1000, &consumed).ok());
  std::string unknown = ws::EncodeFrame(ws::Opcode::kBinary, "a");
  unknown[0] = static_cast<char>(0x83);
  EXPECT_FALSE(ws::DecodeFrame(unknown, 100, &consumed).ok());
  EXPECT_TRUE(absl::IsResourceExhausted(
      ws::DecodeFrame(ws::EncodeFrame(ws::Opcode::kBinary, std::string(200, 'a')), 100, &consumed)
          .status()));
}

TEST(WebSocket, AssemblesFragmentsAroundControlFrames) {
  ws::MessageAssembler a(1024);
  auto first = a.Add({false, ws::Opcode::kBinary, true, "ab"});
  ASSERT_TRUE(first.ok());
  EXPECT_FALSE(first->has_value());
  auto ping = a.Add({true, ws::Opcode::kPing, true, "p"});
  ASSERT_TRUE(ping.ok() && ping->has_value());
  EXPECT_EQ((*ping)->opcode, ws::Opcode::kPing);
  auto done = a.Add({true, ws::Opcode::kContinuation, true, "cd"});
  ASSERT_TRUE(done.ok() && done->has_value());
  EXPECT_EQ((*done)->opcode, ws::Opcode::kBinary);
  EXPECT_EQ((*done)->payload, "abcd");
  EXPECT_FALSE(a.Add({true, ws::Opcode::kContinuation, true, "x"}).ok());
}

TEST(WebSocket, ClosePayload) {
  std::string p = ws::ClosePayload(1000, "bye");
  EXPECT_EQ(p, std::string("\x03\xe8" "bye", 5));
}

TEST(Spdy, DictionaryIsTheOneGoUses) {
  absl::string_view d = spdy::Dictionary();
  ASSERT_EQ(d.size(), 1423u);
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(d.data()), d.size(), digest);
  EXPECT_EQ(absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(digest), 32)),
            "51d27341373f923f3cd88e1eb7162aeaa3723d7585ff2399201dc06498407f02");
}

TEST(Spdy, HeaderBlocksRoundTripThroughOneZlibStream) {
  spdy::HeaderCompressor c;
  spdy::HeaderDecompressor d;
  for (int i = 0; i < 5; ++i) {
    spdy::HeaderList h = {{"streamtype", "stdout"}, {"port", std::to_string(8000 + i)},
                          {"requestid", std::string("a\0b", 3)}};
    auto block = c.Compress(h);
    ASSERT_TRUE(block.ok());
    // With the dictionary, the zlib header announces FDICT.
    if (i == 0) {
      EXPECT_TRUE(static_cast<uint8_t>((*block)[1]) & 0x20);
    }
    auto back = d.Decompress(*block);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, h);
    EXPECT_EQ(spdy::GetHeader(*back, "requestid"), "a");
  }
}

TEST(Spdy, PlainZlibWithDictionaryDecodes) {
  // Compress independently with zlib's one-shot API primed with the same dictionary.
  std::string raw = spdy::EncodeHeaderBlock({{"streamtype", "error"}});
  z_stream zs{};
  ASSERT_EQ(deflateInit(&zs, Z_DEFAULT_COMPRESSION), Z_OK);
  absl::string_view dict = spdy::Dictionary();
  deflateSetDictionary(&zs, reinterpret_cast<const Bytef*>(dict.data()), dict.size());
  char out[512];
  zs.next_in = reinterpret_cast<Bytef*>(raw.data());
  zs.avail_in = raw.size();
  zs.next_out = reinterpret_cast<Bytef*>(out);
  zs.avail_out = sizeof(out);
  ASSERT_EQ(deflate(&zs, Z_SYNC_FLUSH), Z_OK);
  std::string compressed(out, sizeof(out) - zs.avail_out);
  deflateEnd(&zs);
  spdy::HeaderDecompressor d;
  auto h = d.Decompress(compressed);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(spdy::GetHeader(*h, "streamtype"), "error");
}

TEST(Spdy, RejectsBadBlocks) {
  EXPECT_FALSE(spdy::DecodeHeaderBlock(spdy::EncodeHeaderBlock({{"Upper", "x"}})).ok());
  EXPECT_FALSE(spdy::DecodeHeaderBlock(spdy::EncodeHeaderBlock({{"a", "1"}, {"a", "2"}})).ok());
  std::string truncated = spdy::EncodeHeaderBlock({{"abc", "def"}});
  truncated.pop_back();
  EXPECT_FALSE(spdy::DecodeHeaderBlock(truncated).ok());
  spdy::HeaderDecompressor d;
  EXPECT_FALSE(d.Decompress("not zlib at all").ok());
}

TEST(Spdy, FramesRoundTrip) {
  size_t consumed;
  auto syn = spdy::DecodeFrame(spdy::EncodeSynStream(5, 0, 3, "HB", spdy::kFlagFin), 1024,
                               &consumed);
  ASSERT_TRUE(syn.ok() && syn->has_value());
  EXPECT_TRUE((*syn)->control);
  EXPECT_EQ((*syn)->version, 3);
  EXPECT_EQ((*syn)->type, static_cast<uint16_t>(spdy::FrameType::kSynStream));
  EXPECT_EQ((*syn)->flags, spdy::kFlagFin);
  auto parsed = spdy::ParseSynStream((*syn)->payload);
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->stream_id, 5u);
  EXPECT_EQ(parsed->priority, 3);
  EXPECT_EQ(parsed->header_block, "HB");

  auto data = spdy::DecodeFrame(spdy::EncodeData(7, "hello", spdy::kFlagFin), 1024, &consumed);
  ASSERT_TRUE(data.ok() && data->has_value());
  EXPECT_FALSE((*data)->control);
  EXPECT_EQ((*data)->stream_id, 7u);
  EXPECT_EQ((*data)->payload, "hello");

  auto wu = spdy::DecodeFrame(spdy::EncodeWindowUpdate(3, 4096), 1024, &consumed);
  auto wup = spdy::ParseWindowUpdate((*wu)->payload);
  ASSERT_TRUE(wup.ok());
  EXPECT_EQ(wup->first, 3u);
  EXPECT_EQ(wup->second, 4096u);
  auto rst = spdy::ParseRstStream(
      (*spdy::DecodeFrame(spdy::EncodeRstStream(9, spdy::RstStatus::kCancel), 64, &consumed))
          ->payload);
  ASSERT_TRUE(rst.ok());
  EXPECT_EQ(rst->second, spdy::RstStatus::kCancel);
  auto settings = spdy::ParseSettings(
      (*spdy::DecodeFrame(spdy::EncodeSettings({{0, spdy::kSettingsInitialWindowSize, 1234}}),
                          64, &consumed))
          ->payload);
  ASSERT_TRUE(settings.ok());
  ASSERT_EQ(settings->size(), 1u);
  EXPECT_EQ((*settings)[0].value, 1234u);
  auto ping = spdy::ParsePing(
      (*spdy::DecodeFrame(spdy::EncodePing(77), 64, &consumed))->payload);
  EXPECT_EQ(*ping, 77u);
  EXPECT_TRUE(absl::IsResourceExhausted(
      spdy::DecodeFrame(spdy::EncodeData(1, std::string(100, 'a')), 10, &consumed).status()));
  EXPECT_FALSE(spdy::ParseSynStream(std::string(4, '\0')).ok());
}

TEST(TokenCache, SingleUseAndExpiry) {
  absl::Time now = absl::FromUnixSeconds(1000);
  TokenCache<int> cache(absl::Minutes(1), 2, [&now] { return now; });
  auto a = cache.Insert(1);
  auto b = cache.Insert(2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_NE(*a, *b);
  EXPECT_TRUE(absl::IsResourceExhausted(cache.Insert(3).status()));
  EXPECT_EQ(*cache.Consume(*a), 1);
  EXPECT_TRUE(absl::IsNotFound(cache.Consume(*a).status()));  // single use
  now += absl::Minutes(2);
  EXPECT_TRUE(absl::IsNotFound(cache.Consume(*b).status()));  // expired
  EXPECT_EQ(cache.SizeForTest(), 0u);
  EXPECT_TRUE(cache.Insert(4).ok());  // room again after expiry
}

TEST(Validation, LikeKubelet) {
  runtime::v1::ExecRequest exec;
  exec.set_container_id("c1");
  exec.add_cmd("sh");
  exec.set_stdout(true);
  EXPECT_TRUE(ValidateExecRequest(exec).ok());
  exec.set_tty(true);
  exec.set_stderr(true);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateExecRequest(exec)));
  exec.set_tty(false);
  exec.set_stderr(false);
  exec.set_stdout(false);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateExecRequest(exec)));
  exec.set_stdin(true);
  exec.clear_container_id();
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateExecRequest(exec)));
  runtime::v1::AttachRequest attach;
  attach.set_container_id("c1");
  EXPECT_TRUE(absl::IsInvalidArgument(ValidateAttachRequest(attach)));
  runtime::v1::PortForwardRequest pf;
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePortForwardRequest(pf)));
  pf.set_pod_sandbox_id("p");
  pf.add_port(70000);
  EXPECT_TRUE(absl::IsInvalidArgument(ValidatePortForwardRequest(pf)));
}

TEST(RemoteCommand, ResizeDecoderHandlesSplitsAndJunk) {
  ResizeDecoder d;
  EXPECT_TRUE(d.Feed("{\"Width\":80,").empty());
  auto sizes = d.Feed("\"Height\":24}{\"Width\":1,\"Height\":2}{bad}{\"Width\":3");
  ASSERT_EQ(sizes.size(), 2u);
  EXPECT_EQ(sizes[0], (TerminalSize{80, 24}));
  EXPECT_EQ(sizes[1], (TerminalSize{1, 2}));
  sizes = d.Feed(",\"Height\":4}");
  ASSERT_EQ(sizes.size(), 1u);
  EXPECT_EQ(sizes[0], (TerminalSize{3, 4}));
}

TEST(RemoteCommand, ResizeDecoderRefusesSizesOutsideUint16) {
  // 70000 was passed on as 70000 % 65536 = 4464 columns (cri_resize seeds).
  auto sizes = ResizeDecoder().Feed(
      "{\"Width\":70000,\"Height\":24}{\"Width\":80,\"Height\":65536}"
      "{\"Width\":-1,\"Height\":2}{\"Width\":65535,\"Height\":0}");
  ASSERT_EQ(sizes.size(), 1u);
  EXPECT_EQ(sizes[0], (TerminalSize{65535, 0}));
}

TEST(RemoteCommand, StatusFormats) {
  EXPECT_EQ(FormatStatus(StatusFormat::kText, 0), "");
  EXPECT_NE(FormatStatus(StatusFormat::kText, 3), "");
  auto ok = nlohmann::json::parse(FormatStatus(StatusFormat::kJson, 0));
  EXPECT_EQ(ok["status"], "Success");
  auto failed = nlohmann::json::parse(FormatStatus(StatusFormat::kJson, 3));
  EXPECT_EQ(failed["status"], "Failure");
  EXPECT_EQ(failed["reason"], "NonZeroExitCode");
  EXPECT_EQ(failed["details"]["causes"][0]["reason"], "ExitCode");
  EXPECT_EQ(failed["details"]["causes"][0]["message"], "3");
  auto err = nlohmann::json::parse(
      FormatStatus(StatusFormat::kJson, absl::NotFoundError("no such container")));
  EXPECT_EQ(err["reason"], "InternalError");
  EXPECT_EQ(err["code"], 500);
}

}  // namespace
}  // namespace berth::cri::streaming
