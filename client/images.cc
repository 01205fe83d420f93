#include "client/images.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/empty.pb.h"

namespace berth::client {

Images::Images(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)), stub_(impb::Images::NewStub(conn_->channel())) {}

absl::StatusOr<std::vector<impb::Image>> Images::List(const std::vector<std::string>& filters,
                                                      const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  impb::ListImagesRequest req;
  for (const auto& f : filters) req.add_filters(f);
  impb::ListImagesResponse resp;
  auto s = stub_->List(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, "list images");
  return std::vector<impb::Image>(resp.images().begin(), resp.images().end());
}

absl::StatusOr<impb::Image> Images::Get(const std::string& name, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  impb::GetImageRequest req;
  req.set_name(name);
  impb::GetImageResponse resp;
  auto s = stub_->Get(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("get image ", name));
  return resp.image();
}

absl::StatusOr<impb::Image> Images::Create(const impb::Image& image, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  impb::CreateImageRequest req;
  *req.mutable_image() = image;
  impb::CreateImageResponse resp;
  auto s = stub_->Create(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("create image ", image.name()));
  return resp.image();
}

absl::StatusOr<impb::Image> Images::Tag(const std::string& source, const std::string& target_name,
                                        bool force, const CallOptions& call) {
  absl::StatusOr<impb::Image> src = Get(source, call);
  if (!src.ok()) return src.status();
  impb::Image img;
  img.set_name(target_name);
  *img.mutable_target() = src->target();
  absl::StatusOr<impb::Image> created = Create(img, call);
  if (created.ok() || !force || !absl::IsAlreadyExists(created.status())) return created;
  // --force: point the existing name at the new target, like `ctr images tag --force`.
  return Update(img, call);
}

absl::StatusOr<impb::Image> Images::Update(const impb::Image& image, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  impb::UpdateImageRequest req;
  *req.mutable_image() = image;
  req.mutable_update_mask()->add_paths("target");
  req.mutable_update_mask()->add_paths("labels");
  impb::UpdateImageResponse resp;
  auto s = stub_->Update(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("update image ", image.name()));
  return resp.image();
}

absl::Status Images::Remove(const std::string& name, bool sync, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  impb::DeleteImageRequest req;
  req.set_name(name);
  req.set_sync(sync);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Delete(ctx.get(), req, &resp), absl::StrCat("remove image ", name));
}

Content::Content(std::shared_ptr<Connection> conn)
    : conn_(std::move(conn)), stub_(cpb_content::Content::NewStub(conn_->channel())) {}

absl::StatusOr<std::vector<cpb_content::Info>> Content::List(
    const std::vector<std::string>& filters, const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  cpb_content::ListContentRequest req;
  for (const auto& f : filters) req.add_filters(f);
  auto reader = stub_->List(ctx.get(), req);
  std::vector<cpb_content::Info> out;
  cpb_content::ListContentResponse resp;
  while (reader->Read(&resp)) out.insert(out.end(), resp.info().begin(), resp.info().end());
  auto s = reader->Finish();
  if (!s.ok()) return FromGrpc(s, "list content");
  return out;
}

absl::StatusOr<cpb_content::Info> Content::Info(const std::string& digest,
                                                const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  cpb_content::InfoRequest req;
  req.set_digest(digest);
  cpb_content::InfoResponse resp;
  auto s = stub_->Info(ctx.get(), req, &resp);
  if (!s.ok()) return FromGrpc(s, absl::StrCat("content info ", digest));
  return resp.info();
}

absl::Status Content::SetLabels(const std::string& digest, const Labels& labels,
                                const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  cpb_content::UpdateRequest req;
  req.mutable_info()->set_digest(digest);
  for (const auto& [k, v] : labels) {
    (*req.mutable_info()->mutable_labels())[k] = v;
    req.mutable_update_mask()->add_paths("labels." + k);
  }
  cpb_content::UpdateResponse resp;
  return FromGrpc(stub_->Update(ctx.get(), req, &resp), absl::StrCat("label content ", digest));
}

absl::Status Content::Read(const std::string& digest,
                           const std::function<bool(const std::string&)>& sink,
                           const CallOptions& call) {
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  cpb_content::ReadContentRequest req;
  req.set_digest(digest);
  auto reader = stub_->Read(ctx.get(), req);
  cpb_content::ReadContentResponse resp;
  while (reader->Read(&resp)) {
    if (!sink(resp.data())) {
      ctx->TryCancel();
      reader->Finish().IgnoreError();
      return absl::CancelledError(absl::StrCat("read content ", digest, ": cancelled"));
    }
  }
  return FromGrpc(reader->Finish(), absl::StrCat("read content ", digest));
}

absl::StatusOr<std::string> Content::ReadAll(const std::string& digest, int64_t max_size,
                                             const CallOptions& call) {
  std::string out;
  bool too_big = false;
  absl::Status s = Read(
      digest,
      [&](const std::string& chunk) {
        if (static_cast<int64_t>(out.size() + chunk.size()) > max_size) {
          too_big = true;
          return false;
        }
        out += chunk;
        return true;
      },
      call);
  if (too_big) {
    return absl::FailedPreconditionError(
        absl::StrCat("blob ", digest, " is larger than ", max_size, " bytes"));
  }
  if (!s.ok()) return s;
  return out;
}

absl::Status Content::Write(const std::string& ref, const std::string& digest, int64_t total,
                            const std::function<int64_t(char*, size_t)>& source,
                            const Labels& labels, const CallOptions& call) {
  std::string what = absl::StrCat("write content ", digest);
  auto ctx = conn_->NewContext(call, /*stream=*/true);
  auto stream = stub_->Write(ctx.get());
  std::string buf(1 << 20, '\0');
  int64_t offset = 0;
  bool open = true;
  cpb_content::WriteContentResponse resp;
  while (open) {
    int64_t n = source(buf.data(), buf.size());
    if (n < 0) {
      ctx->TryCancel();
      stream->Finish().IgnoreError();
      return absl::DataLossError(absl::StrCat(what, ": reading the source failed"));
    }
    if (n == 0) break;
    cpb_content::WriteContentRequest req;
    req.set_action(cpb_content::WRITE);
    req.set_ref(ref);
    req.set_total(total);
    req.set_expected(digest);
    req.set_offset(offset);
    req.set_data(buf.data(), static_cast<size_t>(n));
    // A failed write or read means the server ended the stream: Finish says why.
    open = stream->Write(req) && stream->Read(&resp);
    offset += n;
  }
  if (open) {
    // COMMIT carries the current offset: offset 0 would restart the ingest (empty blobs
    // excepted, where 0 is the current offset).
    cpb_content::WriteContentRequest commit;
    commit.set_action(cpb_content::COMMIT);
    commit.set_ref(ref);
    commit.set_total(total);
    commit.set_expected(digest);
    commit.set_offset(offset);
    for (const auto& [k, v] : labels) (*commit.mutable_labels())[k] = v;
    if (stream->Write(commit)) stream->Read(&resp);
    stream->WritesDone();
  }
  absl::Status s = FromGrpc(stream->Finish(), what);
  if (absl::IsAlreadyExists(s)) return absl::OkStatus();
  return s;
}

absl::Status Content::Delete(const std::string& digest, const CallOptions& call) {
  auto ctx = conn_->NewContext(call);
  cpb_content::DeleteContentRequest req;
  req.set_digest(digest);
  google::protobuf::Empty resp;
  return FromGrpc(stub_->Delete(ctx.get(), req, &resp), absl::StrCat("delete content ", digest));
}

}  // namespace berth::client
