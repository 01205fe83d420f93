#include "client/transfer.h"

#include "absl/strings/str_cat.h"

namespace berth::client {
namespace {

template <typename Reader>
absl::StatusOr<std::vector<xferpb::Progress::ImageResult>> Drain(
    Reader& reader, const ProgressCallback& progress, const std::string& what) {
  std::vector<xferpb::Progress::ImageResult> images;
  xferpb::Progress p;
  bool done = false;
  while (reader->Read(&p)) {
    if (progress) progress(p);
    images.insert(images.end(), p.images().begin(), p.images().end());
    done = done || p.done();
  }
  absl::Status s = FromGrpc(reader->Finish(), what);
  if (!s.ok()) return s;
  if (!done) return absl::DataLossError(what + ": the stream ended before the transfer was done");
  return images;
}

}  // namespace

Transfer::Transfer(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)), stub_(xferpb::Transfer::NewStub(conn_->channel())) {}

absl::StatusOr<std::vector<xferpb::Progress::ImageResult>> Transfer::Pull(
    const xferpb::PullRequest& req, const ProgressCallback& progress, const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  auto reader = stub_->Pull(ctx.get(), req);
  return Drain(reader, progress, absl::StrCat("pull ", req.reference()));
}

absl::StatusOr<std::vector<xferpb::Progress::ImageResult>> Transfer::Import(
    const xferpb::ImportRequest& req, const ProgressCallback& progress, const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  auto reader = stub_->Import(ctx.get(), req);
  return Drain(reader, progress, absl::StrCat("import ", req.path()));
}

absl::StatusOr<std::vector<xferpb::Progress::ImageResult>> Transfer::Push(
    const xferpb::PushRequest& req, const ProgressCallback& progress, const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  auto reader = stub_->Push(ctx.get(), req);
  return Drain(reader, progress, absl::StrCat("push ", req.image()));
}

}  // namespace berth::client
