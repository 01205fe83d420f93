#include "cri/streaming/spdy_headers.h"

#include "cri/streaming/byte_order.h"

#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace berth::cri::streaming::spdy {
namespace {

// SPDY/3 draft section 2.6.10.1. Built without its trailing NUL, as Go's spdy package (and
// so every kubectl/kubelet peer) primes zlib: the dictionary id in the stream must match.
constexpr char kDictionary[] =
    "\000\000\000\007options\000\000\000\004head\000\000\000\004post\000\000\000\003put\000\000"
    "\000\006delete\000\000\000\005trace\000\000\000\006accept\000\000\000\016accept-charset\000"
    "\000\000\017accept-encoding\000\000\000\017accept-language\000\000\000\015accept-ranges\000"
    "\000\000\003age\000\000\000\005allow\000\000\000\015authorization\000\000\000\015cache-cont"
    "rol\000\000\000\012connection\000\000\000\014content-base\000\000\000\020content-encoding"
    "\000\000\000\020content-language\000\000\000\016content-length\000\000\000\020content-locat"
    "ion\000\000\000\013content-md5\000\000\000\015content-range\000\000\000\014content-type\000"
    "\000\000\004date\000\000\000\004etag\000\000\000\006expect\000\000\000\007expires\000\000"
    "\000\004from\000\000\000\004host\000\000\000\010if-match\000\000\000\021if-modified-since"
    "\000\000\000\015if-none-match\000\000\000\010if-range\000\000\000\023if-unmodified-since"
    "\000\000\000\015last-modified\000\000\000\010location\000\000\000\014max-forwards\000\000"
    "\000\006pragma\000\000\000\022proxy-authenticate\000\000\000\023proxy-authorization\000\000"
    "\000\005range\000\000\000\007referer\000\000\000\013retry-after\000\000\000\006server\000"
    "\000\000\002te\000\000\000\007trailer\000\000\000\021transfer-encoding\000\000\000\007upgra"
    "de\000\000\000\012user-agent\000\000\000\004vary\000\000\000\003via\000\000\000\007warning"
    "\000\000\000\020www-authenticate\000\000\000\006method\000\000\000\003get\000\000\000\006st"
    "atus\000\000\000\006200 OK\000\000\000\007version\000\000\000\010HTTP/1.1\000\000\000\003ur"
    "l\000\000\000\006public\000\000\000\012set-cookie\000\000\000\012keep-alive\000\000\000\006"
    "origin1001012012022052063003023033043053063074024054064074084094104114124134144154164175025"
    "04505203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401"
    " Unauthorized403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Serv"
    "ice UnavailableJan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu"
    ", Fri, Sat, Sun, GMTchunked,text/html,image/png,image/jpg,image/gif,application/xml,applica"
    "tion/xhtml+xml,text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf"
    "-8charset=iso-8859-1,utf-,*,enq=0."
    ;
constexpr size_t kDictionarySize = sizeof(kDictionary) - 1;  // drop the literal's NUL

}  // namespace

absl::string_view Dictionary() { return absl::string_view(kDictionary, kDictionarySize); }

std::string GetHeader(const HeaderList& headers, absl::string_view name) {
  for (const auto& [k, v] : headers) {
    if (k == name) return v.substr(0, v.find('\0'));
  }
  return "";
}

std::string EncodeHeaderBlock(const HeaderList& headers) {
  std::string out;
  Put32(out, static_cast<uint32_t>(headers.size()));
  for (const auto& [k, v] : headers) {
    Put32(out, static_cast<uint32_t>(k.size()));
    out.append(k);
    Put32(out, static_cast<uint32_t>(v.size()));
    out.append(v);
  }
  return out;
}

absl::StatusOr<HeaderList> DecodeHeaderBlock(absl::string_view block) {
  auto take = [&block](std::string* out) -> bool {
    if (block.size() < 4) return false;
    uint32_t n = Be32(block.data());
    block.remove_prefix(4);
    if (block.size() < n) return false;
    out->assign(block.data(), n);
    block.remove_prefix(n);
    return true;
  };
  if (block.size() < 4) return absl::InvalidArgumentError("spdy: short header block");
  uint32_t count = Be32(block.data());
  block.remove_prefix(4);
  if (count > block.size() / 8) return absl::InvalidArgumentError("spdy: bad header count");
  HeaderList out;
  std::set<std::string> seen;
  for (uint32_t i = 0; i < count; ++i) {
    std::string name, value;
    if (!take(&name) || !take(&value)) {
      return absl::InvalidArgumentError("spdy: truncated header block");
    }
    if (name.empty() || name != absl::AsciiStrToLower(name)) {
      return absl::InvalidArgumentError(absl::StrCat("spdy: bad header name '", name, "'"));
    }
    if (!seen.insert(name).second) {
      return absl::InvalidArgumentError(absl::StrCat("spdy: duplicate header '", name, "'"));
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

HeaderCompressor::HeaderCompressor() {
  ok_ = deflateInit(&zs_, Z_BEST_COMPRESSION) == Z_OK &&
        deflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(kDictionary),
                             kDictionarySize) == Z_OK;
}

HeaderCompressor::~HeaderCompressor() { deflateEnd(&zs_); }

absl::StatusOr<std::string> HeaderCompressor::Compress(const HeaderList& headers) {
  if (!ok_) return absl::InternalError("spdy: header compressor unusable");
  std::string in = EncodeHeaderBlock(headers);
  std::string out;
  zs_.next_in = reinterpret_cast<Bytef*>(in.data());
  zs_.avail_in = static_cast<uInt>(in.size());
  char buf[4096];
  do {
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = sizeof(buf);
    int rc = deflate(&zs_, Z_SYNC_FLUSH);
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      ok_ = false;
      return absl::InternalError("spdy: deflate failed");
    }
    out.append(buf, sizeof(buf) - zs_.avail_out);
  } while (zs_.avail_out == 0);
  return out;
}

HeaderDecompressor::HeaderDecompressor(size_t max_block) : max_block_(max_block) {
  ok_ = inflateInit(&zs_) == Z_OK;
}

HeaderDecompressor::~HeaderDecompressor() { inflateEnd(&zs_); }

absl::StatusOr<HeaderList> HeaderDecompressor::Decompress(absl::string_view data) {
  if (!ok_) return absl::InvalidArgumentError("spdy: header stream already broken");
  ok_ = false;  // until this block decodes completely
  std::string out;
  zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs_.avail_in = static_cast<uInt>(data.size());
  char buf[4096];
  // Inflate until the input is used up and zlib has nothing more to give for this block.
  while (true) {
    zs_.next_out = reinterpret_cast<Bytef*>(buf);
    zs_.avail_out = sizeof(buf);
    int rc = inflate(&zs_, Z_SYNC_FLUSH);
    if (rc == Z_NEED_DICT) {
      if (inflateSetDictionary(&zs_, reinterpret_cast<const Bytef*>(kDictionary),
                               kDictionarySize) != Z_OK) {
        return absl::InvalidArgumentError("spdy: header block wants another dictionary");
      }
      continue;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) {
      return absl::InvalidArgumentError("spdy: corrupt header block");
    }
    out.append(buf, sizeof(buf) - zs_.avail_out);
    if (out.size() > max_block_) return absl::ResourceExhaustedError("spdy: header block too big");
    if (zs_.avail_in == 0 && zs_.avail_out != 0) break;
    if (rc == Z_BUF_ERROR && zs_.avail_out != 0) break;  // no progress possible
  }
  absl::StatusOr<HeaderList> headers = DecodeHeaderBlock(out);
  if (headers.ok()) ok_ = true;
  return headers;
}

}  // namespace berth::cri::streaming::spdy
