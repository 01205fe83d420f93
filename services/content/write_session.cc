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

void SetStatus(const content::IngestStatus& st, int64_t total, pb::WriteContentResponse* resp) {
  resp->set_offset(st.offset);
  resp->set_total(st.total > 0 ? st.total : total);
  ToTimestamp(st.started_at, resp->mutable_started_at());
  ToTimestamp(st.updated_at, resp->mutable_updated_at());
}

// A WRITE that the writer's own checks will accept (current offset, within the total) is
// answered before its bytes are hashed and written: the client (ctr sends a chunk, then waits
// for the answer) prepares the next chunk meanwhile instead of both sides taking turns. What is
// promised is what containerd promises - bytes in the ingest, not on disk; a write that then
// fails answers the client's next request with its error, and Status shows what the file holds.
bool CanAnswerFirst(const pb::WriteContentRequest& req, const content::IngestStatus& st) {
  if (req.action() != pb::WRITE || req.data().empty() || req.offset() != st.offset) return false;
  return st.total <= 0 || st.offset + static_cast<int64_t>(req.data().size()) <= st.total;
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
  BERTH_ASSIGN_OR_RETURN(content::IngestStatus known, writer->Status());
  for (;;) {
    if (!req.expected().empty()) {
      BERTH_ASSIGN_OR_RETURN(expected, Digest::Parse(req.expected()));
    }
    if (req.total() > 0) total = req.total();
    pb::WriteContentResponse resp;
    resp.set_action(req.action());
    if (CanAnswerFirst(req, known)) {
      known.offset += static_cast<int64_t>(req.data().size());
      known.updated_at = absl::Now();
      SetStatus(known, total, &resp);
      if (!stream->Write(resp)) return absl::OkStatus();
      absl::Status written = writer->Write(req.offset(), req.data());
      // The client took this write as done and sends its next request: a failure answers that
      // one. Ending the stream while the client still sends reads to ctr as "failed to send
      // write: EOF" instead of the error (ENOSPC on a full disk).
      bool more = stream->Read(&req);
      BERTH_RETURN_IF_ERROR(written);
      if (!more) return absl::OkStatus();
      continue;
    }
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
    BERTH_ASSIGN_OR_RETURN(known, writer->Status());
    SetStatus(known, total, &resp);
    if (!stream->Write(resp)) return absl::OkStatus();
    if (!stream->Read(&req)) return absl::OkStatus();
  }
}

}  // namespace berth::services
