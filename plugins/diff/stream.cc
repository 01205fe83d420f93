#include "plugins/diff/stream.h"

#include <isa-l/igzip_lib.h>
#include <openssl/evp.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/status_macros.h"

namespace berth::diff {
namespace {

// Fills `buf` from `source` until `len` bytes or end of stream.
absl::StatusOr<size_t> ReadFull(const Reader& source, char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    BERTH_ASSIGN_OR_RETURN(size_t n, source(buf + got, len - got));
    if (n == 0) break;
    got += n;
  }
  return got;
}

class GzipReader {
 public:
  explicit GzipReader(Reader source) : source_(std::move(source)), in_(kBufferSize) {
    isal_inflate_init(&state_);
    state_.crc_flag = ISAL_GZIP;
  }

  absl::StatusOr<size_t> Read(char* buf, size_t len) {
    size_t produced = 0;
    while (produced < len && !done_) {
      if (state_.avail_in == 0 && !source_eof_) {
        BERTH_ASSIGN_OR_RETURN(size_t n, source_(in_.data(), in_.size()));
        if (n == 0) source_eof_ = true;
        state_.next_in = reinterpret_cast<uint8_t*>(in_.data());
        state_.avail_in = static_cast<uint32_t>(n);
        continue;
      }
      if (state_.block_state == ISAL_BLOCK_FINISH || padding_) {
        BERTH_RETURN_IF_ERROR(NextMember());
        continue;
      }
      if (state_.avail_in == 0 && source_eof_) {
        return absl::DataLossError("gzip stream is truncated");
      }
      size_t room = std::min<size_t>(len - produced, UINT32_MAX);
      state_.next_out = reinterpret_cast<uint8_t*>(buf + produced);
      state_.avail_out = static_cast<uint32_t>(room);
      int rc = isal_inflate(&state_);
      if (rc < 0) return absl::DataLossError(absl::StrCat("corrupt gzip stream (igzip ", rc, ")"));
      produced += room - state_.avail_out;
    }
    return produced;
  }

 private:
  // After a member ends: another member follows (multi-member gzip, e.g. pigz or concatenated
  // files), or only zero padding up to the end of the blob, or the stream is over.
  absl::Status NextMember() {
    while (state_.avail_in > 0 && (padding_ || state_.next_in[0] == 0)) {
      if (state_.next_in[0] != 0) return absl::DataLossError("garbage after gzip padding");
      padding_ = true;
      ++state_.next_in;
      --state_.avail_in;
    }
    if (state_.avail_in == 0) {
      if (source_eof_) done_ = true;
      return absl::OkStatus();  // the caller refills
    }
    uint8_t* next_in = state_.next_in;
    uint32_t avail_in = state_.avail_in;
    isal_inflate_reset(&state_);
    state_.next_in = next_in;
    state_.avail_in = avail_in;
    state_.crc_flag = ISAL_GZIP;
    return absl::OkStatus();
  }

  Reader source_;
  std::vector<char> in_;
  inflate_state state_{};
  bool source_eof_ = false;
  bool padding_ = false;
  bool done_ = false;
};

class ZstdReader {
 public:
  explicit ZstdReader(Reader source)
      : source_(std::move(source)), in_(kBufferSize), dctx_(ZSTD_createDCtx()) {}
  ~ZstdReader() { ZSTD_freeDCtx(dctx_); }
  ZstdReader(const ZstdReader&) = delete;

  absl::StatusOr<size_t> Read(char* buf, size_t len) {
    ZSTD_outBuffer out{buf, len, 0};
    while (out.pos < out.size && !done_) {
      if (input_.pos == input_.size && !source_eof_) {
        BERTH_ASSIGN_OR_RETURN(size_t n, source_(in_.data(), in_.size()));
        if (n == 0) source_eof_ = true;
        input_ = ZSTD_inBuffer{in_.data(), n, 0};
        continue;
      }
      size_t out_before = out.pos, in_before = input_.pos;
      size_t rc = ZSTD_decompressStream(dctx_, &out, &input_);
      if (ZSTD_isError(rc)) {
        return absl::DataLossError(absl::StrCat("corrupt zstd stream: ", ZSTD_getErrorName(rc)));
      }
      if (out.pos != out_before || input_.pos != in_before) {
        last_rc_ = rc;  // 0: a frame ended and is fully flushed
      } else if (input_.pos == input_.size && source_eof_) {
        if (last_rc_ != 0) return absl::DataLossError("zstd stream is truncated");
        done_ = true;
      }
    }
    return out.pos;
  }

 private:
  Reader source_;
  std::vector<char> in_;
  ZSTD_DCtx* dctx_;
  ZSTD_inBuffer input_{nullptr, 0, 0};
  size_t last_rc_ = 1;  // nonzero until a frame completes: an empty blob is truncated
  bool source_eof_ = false;
  bool done_ = false;
};

// Returns `prefix` first, then the rest of `source`.
Reader PrefixedReader(std::string prefix, Reader source) {
  auto offset = std::make_shared<size_t>(0);
  return [prefix = std::move(prefix), source = std::move(source), offset](
             char* buf, size_t len) -> absl::StatusOr<size_t> {
    if (*offset < prefix.size()) {
      size_t n = std::min(len, prefix.size() - *offset);
      std::memcpy(buf, prefix.data() + *offset, n);
      *offset += n;
      return n;
    }
    return source(buf, len);
  };
}

absl::StatusOr<Compression> DetectByMagic(absl::string_view head, absl::string_view media_type) {
  auto starts = [&](absl::string_view magic) { return absl::StartsWith(head, magic); };
  if (starts("\x1f\x8b")) return Compression::kGzip;
  if (starts("\x28\xb5\x2f\xfd")) return Compression::kZstd;
  if (starts("BZh") || starts(absl::string_view("\xfd"
                                                "7zXZ\0",
                                                6))) {
    return absl::UnimplementedError(absl::StrCat(
        "unsupported layer compression (bzip2/xz) for media type \"", media_type, "\""));
  }
  return Compression::kNone;
}

class GzipSink : public Sink {
 public:
  explicit GzipSink(Writer out)
      : out_(std::move(out)), level_buf_(ISAL_DEF_LVL1_DEFAULT), buf_(kBufferSize) {
    isal_deflate_init(&z_);
    z_.level = 1;
    z_.level_buf = level_buf_.data();
    z_.level_buf_size = static_cast<uint32_t>(level_buf_.size());
    z_.gzip_flag = IGZIP_GZIP;
  }
  absl::Status Write(const char* data, size_t len) override {
    z_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data));
    z_.avail_in = static_cast<uint32_t>(len);
    while (z_.avail_in > 0) BERTH_RETURN_IF_ERROR(Step());
    return absl::OkStatus();
  }
  absl::Status Close() override {
    z_.end_of_stream = 1;
    while (z_.internal_state.state != ZSTATE_END) BERTH_RETURN_IF_ERROR(Step());
    return absl::OkStatus();
  }

 private:
  absl::Status Step() {
    z_.next_out = reinterpret_cast<uint8_t*>(buf_.data());
    z_.avail_out = static_cast<uint32_t>(buf_.size());
    int rc = isal_deflate(&z_);
    if (rc != COMP_OK) return absl::InternalError(absl::StrCat("igzip deflate failed: ", rc));
    size_t n = buf_.size() - z_.avail_out;
    return n > 0 ? out_(buf_.data(), n) : absl::OkStatus();
  }

  Writer out_;
  isal_zstream z_{};
  std::vector<uint8_t> level_buf_;
  std::vector<char> buf_;
};

class ZstdSink : public Sink {
 public:
  explicit ZstdSink(Writer out)
      : out_(std::move(out)), cctx_(ZSTD_createCCtx()), buf_(kBufferSize) {
    ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, 3);
  }
  ~ZstdSink() override { ZSTD_freeCCtx(cctx_); }
  absl::Status Write(const char* data, size_t len) override {
    ZSTD_inBuffer in{data, len, 0};
    while (in.pos < in.size) BERTH_RETURN_IF_ERROR(Step(&in, ZSTD_e_continue).status());
    return absl::OkStatus();
  }
  absl::Status Close() override {
    ZSTD_inBuffer in{nullptr, 0, 0};
    for (;;) {
      BERTH_ASSIGN_OR_RETURN(size_t left, Step(&in, ZSTD_e_end));
      if (left == 0) return absl::OkStatus();
    }
  }

 private:
  absl::StatusOr<size_t> Step(ZSTD_inBuffer* in, ZSTD_EndDirective end) {
    ZSTD_outBuffer out{buf_.data(), buf_.size(), 0};
    size_t rc = ZSTD_compressStream2(cctx_, &out, in, end);
    if (ZSTD_isError(rc)) {
      return absl::InternalError(absl::StrCat("zstd compress: ", ZSTD_getErrorName(rc)));
    }
    if (out.pos > 0) BERTH_RETURN_IF_ERROR(out_(buf_.data(), out.pos));
    return rc;
  }

  Writer out_;
  ZSTD_CCtx* cctx_;
  std::vector<char> buf_;
};

class PlainSink : public Sink {
 public:
  explicit PlainSink(Writer out) : out_(std::move(out)) {}
  absl::Status Write(const char* data, size_t len) override { return out_(data, len); }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  Writer out_;
};

}  // namespace

absl::StatusOr<CompressionChoice> CompressionForMediaType(absl::string_view media_type) {
  static constexpr absl::string_view kLayerPrefixes[] = {
      "application/vnd.oci.image.layer.v1.tar",
      "application/vnd.oci.image.layer.nondistributable.v1.tar",
      "application/vnd.docker.image.rootfs.diff.tar",
      "application/vnd.docker.image.rootfs.foreign.diff.tar",
  };
  for (absl::string_view prefix : kLayerPrefixes) {
    if (!absl::StartsWith(media_type, prefix)) continue;
    absl::string_view suffix = media_type.substr(prefix.size());
    if (suffix.empty()) return CompressionChoice{false, Compression::kNone};
    if (suffix == "+gzip" || suffix == ".gzip") return CompressionChoice{false, Compression::kGzip};
    if (suffix == "+zstd") return CompressionChoice{false, Compression::kZstd};
    return absl::UnimplementedError(
        absl::StrCat("unsupported layer media type \"", media_type, "\""));
  }
  return CompressionChoice{true, Compression::kNone};
}

std::string OciMediaType(Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return kMediaTypeOciLayerGzip;
    case Compression::kZstd:
      return kMediaTypeOciLayerZstd;
    case Compression::kNone:
      break;
  }
  return kMediaTypeOciLayer;
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
  EVP_DigestInit_ex(static_cast<EVP_MD_CTX*>(ctx_), EVP_sha256(), nullptr);
}
Sha256::~Sha256() { EVP_MD_CTX_free(static_cast<EVP_MD_CTX*>(ctx_)); }
void Sha256::Update(const void* data, size_t len) {
  EVP_DigestUpdate(static_cast<EVP_MD_CTX*>(ctx_), data, len);
}
std::string Sha256::Digest() {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex(static_cast<EVP_MD_CTX*>(ctx_), md, &md_len);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "sha256:";
  for (unsigned int i = 0; i < md_len; ++i) {
    out.push_back(kHex[md[i] >> 4]);
    out.push_back(kHex[md[i] & 0xf]);
  }
  return out;
}

Reader NewDecompressingReader(Reader source, Compression compression) {
  switch (compression) {
    case Compression::kGzip: {
      auto gz = std::make_shared<GzipReader>(std::move(source));
      return [gz](char* buf, size_t len) { return gz->Read(buf, len); };
    }
    case Compression::kZstd: {
      auto zs = std::make_shared<ZstdReader>(std::move(source));
      return [zs](char* buf, size_t len) { return zs->Read(buf, len); };
    }
    case Compression::kNone:
      break;
  }
  return source;
}

absl::StatusOr<Reader> NewDecompressingReader(Reader source, absl::string_view media_type) {
  BERTH_ASSIGN_OR_RETURN(CompressionChoice choice, CompressionForMediaType(media_type));
  if (!choice.detect) return NewDecompressingReader(std::move(source), choice.compression);
  std::string head(6, '\0');
  BERTH_ASSIGN_OR_RETURN(size_t n, ReadFull(source, head.data(), head.size()));
  head.resize(n);
  BERTH_ASSIGN_OR_RETURN(Compression detected, DetectByMagic(head, media_type));
  return NewDecompressingReader(PrefixedReader(std::move(head), std::move(source)), detected);
}

std::unique_ptr<Sink> NewCompressingSink(Writer out, Compression compression) {
  switch (compression) {
    case Compression::kGzip:
      return std::make_unique<GzipSink>(std::move(out));
    case Compression::kZstd:
      return std::make_unique<ZstdSink>(std::move(out));
    case Compression::kNone:
      break;
  }
  return std::make_unique<PlainSink>(std::move(out));
}

}  // namespace berth::diff
