#include "services/content/write_session.h"

#include "absl/strings/str_cat.h"
#include "core/status_macros.h"
#include "services/common/time_convert.h"

namespace berth::services {

namespace pb = ::containerd::services::content::v1;
using content::Digest;

namespace {

absl::StatusOr<Digest> ParseOptional(const std::string& s) {
  if (s.empty()) return Digest();
  return Digest::Parse(s);
}

}  // namespace

absl::Status RunWriteSession(
    content::NamespacedStore& store, const std::string& ns, const std::string& lease,
    grpc::ServerReaderWriter<pb::WriteContentResponse, pb::WriteContentRequest>* stream,
    const std::function<void(const Digest&)>& committed) {
  pb::WriteContentRequest req;
  if (!stream->Read(&req)) return absl::OkStatus();
  if (req.ref().empty()) {
    return absl::InvalidArgumentError("first message of a content write must have a ref");
  }
  BERTH_ASSIGN_OR_RETURN(Digest expected, ParseOptional(req.expected()));
  int64_t total = req.total();
  bool had = committed && !expected.empty() && store.GetInfo(ns, expected).ok();
  auto opened = store.OpenWriter(ns, req.ref(), total, expected, lease);
  // A blob on disk for another namespace that was just recorded for this one: as committed.
  if (absl::IsAlreadyExists(opened.status()) && committed && !expected.empty() && !had) {
    committed(expected);
  }
  BERTH_ASSIGN_OR_RETURN(auto writer, std::move(opened));
  for (;;) {
    if (!req.expected().empty()) {
      BERTH_ASSIGN_OR_RETURN(expected, Digest::Parse(req.expected()));
    }
    if (req.total() > 0) total = req.total();
    pb::WriteContentResponse resp;
    resp.set_action(req.action());
    switch (req.action()) {
      case pb::STAT:
        break;
      case pb::WRITE:
      case pb::COMMIT:
        // Offset 0 restarts the ingest; any other offset must be the current one.
        if (!req.data().empty() || req.offset() == 0) {
          BERTH_RETURN_IF_ERROR(writer->Write(req.offset(), req.data()));
        } else {
          BERTH_ASSIGN_OR_RETURN(auto st, writer->Status());
          if (req.offset() != st.offset) {
            return absl::OutOfRangeError(absl::StrCat("write @", req.offset(),
                                                      " must occur at current offset ", st.offset));
          }
        }
        if (req.action() == pb::COMMIT) {
          BERTH_ASSIGN_OR_RETURN(auto st, writer->Status());
          BERTH_ASSIGN_OR_RETURN(
              Digest d, writer->Commit(total, expected, {req.labels().begin(), req.labels().end()}));
          resp.set_offset(st.offset);
          resp.set_total(total);
          resp.set_digest(d.str());
          if (committed) committed(d);
          stream->Write(resp);
          return absl::OkStatus();
        }
        break;
      default:
        return absl::InvalidArgumentError(absl::StrCat("unknown write action ", req.action()));
    }
    BERTH_ASSIGN_OR_RETURN(auto st, writer->Status());
    resp.set_offset(st.offset);
    resp.set_total(st.total > 0 ? st.total : total);
    ToTimestamp(st.started_at, resp.mutable_started_at());
    ToTimestamp(st.updated_at, resp.mutable_updated_at());
    if (!stream->Write(resp)) return absl::OkStatus();
    if (!stream->Read(&req)) return absl::OkStatus();
  }
}

}  // namespace berth::services
