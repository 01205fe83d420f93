#include "core/status_macros.h"
#include "cri/store.h"

#include <dirent.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/fs.h"
#include "core/log.h"
#include "google/protobuf/util/json_util.h"

namespace berth::cri {
namespace {

using json = nlohmann::json;
namespace v1 = ::runtime::v1;

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  if (!google::protobuf::util::MessageToJsonString(m, &out).ok()) out.clear();
  return out;
}

bool FromJson(const json& j, const char* key, google::protobuf::Message* m) {
  if (!j.contains(key) || !j[key].is_string()) return false;
  return google::protobuf::util::JsonStringToMessage(j[key].get<std::string>(), m).ok();
}

json Encode(const SandboxRecord& r) {
  return {{"id", r.id}, {"config", ToJson(r.config)}, {"state", static_cast<int>(r.state)},
          {"created_at", r.created_at}, {"netns", r.ns.net}, {"ipcns", r.ns.ipc},
          {"utsns", r.ns.uts}, {"dir", r.dir}, {"ips", r.ips}, {"cni_result", r.cni_result},
          {"runtime_handler", r.runtime_handler}, {"infra_id", r.infra_id},
          {"infra_pid", r.infra_pid}};
}

bool Decode(const json& j, SandboxRecord* r) {
  if (!FromJson(j, "config", &r->config)) return false;
  r->id = j.value("id", "");
  r->state = static_cast<v1::PodSandboxState>(j.value("state", 1));
  r->created_at = j.value("created_at", int64_t{0});
  r->ns = {j.value("netns", ""), j.value("ipcns", ""), j.value("utsns", "")};
  r->dir = j.value("dir", "");
  r->ips = j.value("ips", std::vector<std::string>{});
  r->cni_result = j.value("cni_result", json());
  r->runtime_handler = j.value("runtime_handler", "");
  r->infra_id = j.value("infra_id", "");
  r->infra_pid = j.value("infra_pid", 0);
  return !r->id.empty();
}

json Encode(const ContainerRecord& r) {
  return {{"id", r.id}, {"sandbox_id", r.sandbox_id}, {"config", ToJson(r.config)},
          {"image_ref", r.image_ref}, {"image_id", r.image_id}, {"state", static_cast<int>(r.state)},
          {"created_at", r.created_at}, {"started_at", r.started_at},
          {"finished_at", r.finished_at}, {"exit_code", r.exit_code}, {"reason", r.reason},
          {"message", r.message}, {"log_path", r.log_path}, {"stdout", r.stdout_fifo},
          {"stderr", r.stderr_fifo}, {"snapshot_key", r.snapshot_key}, {"runtime", r.runtime},
          {"stop_signal", r.stop_signal}};
}

bool Decode(const json& j, ContainerRecord* r) {
  if (!FromJson(j, "config", &r->config)) return false;
  r->id = j.value("id", "");
  r->sandbox_id = j.value("sandbox_id", "");
  r->image_ref = j.value("image_ref", "");
  r->image_id = j.value("image_id", "");
  r->state = static_cast<v1::ContainerState>(j.value("state", 3));
  r->created_at = j.value("created_at", int64_t{0});
  r->started_at = j.value("started_at", int64_t{0});
  r->finished_at = j.value("finished_at", int64_t{0});
  r->exit_code = j.value("exit_code", 0);
  r->reason = j.value("reason", "");
  r->message = j.value("message", "");
  r->log_path = j.value("log_path", "");
  r->stdout_fifo = j.value("stdout", "");
  r->stderr_fifo = j.value("stderr", "");
  r->snapshot_key = j.value("snapshot_key", "");
  r->runtime = j.value("runtime", "");
  r->stop_signal = j.value("stop_signal", 15);
  return !r->id.empty();
}

std::vector<std::string> JsonFiles(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (absl::EndsWith(n, ".json")) out.push_back(dir + "/" + n);
    }
    ::closedir(d);
  }
  return out;
}

}  // namespace

std::string SandboxName(const v1::PodSandboxConfig& c) {
  const auto& m = c.metadata();
  return absl::StrCat(m.name(), "_", m.namespace_(), "_", m.uid(), "_", m.attempt());
}

std::string ContainerName(const v1::ContainerConfig& c, const v1::PodSandboxConfig& pod) {
  const auto& p = pod.metadata();
  return absl::StrCat(c.metadata().name(), "_", p.name(), "_", p.namespace_(), "_", p.uid(), "_",
                      c.metadata().attempt());
}

absl::Status CriStore::Load() {
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(root_ + "/sandboxes", 0700));
  BERTH_RETURN_IF_ERROR(fs::MkdirAll(root_ + "/containers", 0700));
  absl::MutexLock lock(&mu_);
  for (const auto& f : JsonFiles(root_ + "/sandboxes")) {
    SandboxRecord r;
    auto text = fs::ReadFile(f);
    if (text.ok() && Decode(json::parse(*text, nullptr, false), &r)) {
      names_[SandboxName(r.config)] = r.id;
      sandboxes_[r.id] = std::move(r);
    } else {
      log::Get("cri")->warn("skipping unreadable sandbox record {}", f);
    }
  }
  for (const auto& f : JsonFiles(root_ + "/containers")) {
    ContainerRecord r;
    auto text = fs::ReadFile(f);
    if (text.ok() && Decode(json::parse(*text, nullptr, false), &r)) {
      auto sb = sandboxes_.find(r.sandbox_id);
      if (sb != sandboxes_.end()) names_[ContainerName(r.config, sb->second.config)] = r.id;
      containers_[r.id] = std::move(r);
    } else {
      log::Get("cri")->warn("skipping unreadable container record {}", f);
    }
  }
  return absl::OkStatus();
}

absl::Status CriStore::Reserve(const std::string& name, const std::string& id) {
  absl::MutexLock lock(&mu_);
  auto [it, inserted] = names_.emplace(name, id);
  if (!inserted && it->second != id) {
    return absl::AlreadyExistsError(
        absl::StrCat("name \"", name, "\" is reserved for \"", it->second, "\""));
  }
  return absl::OkStatus();
}

void CriStore::Release(const std::string& name) {
  absl::MutexLock lock(&mu_);
  names_.erase(name);
}

absl::Status CriStore::Put(const SandboxRecord& r) {
  BERTH_RETURN_IF_ERROR(fs::WriteFileAtomic(absl::StrCat(root_, "/sandboxes/", r.id, ".json"),
                                            Encode(r).dump(), 0600));
  absl::MutexLock lock(&mu_);
  sandboxes_[r.id] = r;
  return absl::OkStatus();
}

absl::Status CriStore::Put(const ContainerRecord& r) {
  BERTH_RETURN_IF_ERROR(fs::WriteFileAtomic(absl::StrCat(root_, "/containers/", r.id, ".json"),
                                            Encode(r).dump(), 0600));
  absl::MutexLock lock(&mu_);
  containers_[r.id] = r;
  return absl::OkStatus();
}

template <typename M>
absl::StatusOr<std::string> CriStore::Resolve(const M& m, const std::string& id, const char* kind) {
  if (id.empty()) return absl::InvalidArgumentError(absl::StrCat(kind, " id is empty"));
  if (m.count(id)) return id;
  std::string found;
  for (auto it = m.lower_bound(id); it != m.end() && absl::StartsWith(it->first, id); ++it) {
    if (!found.empty()) return absl::NotFoundError(absl::StrCat(kind, " id prefix \"", id, "\" is ambiguous"));
    found = it->first;
  }
  if (found.empty()) return absl::NotFoundError(absl::StrCat(kind, " \"", id, "\" not found"));
  return found;
}

absl::StatusOr<SandboxRecord> CriStore::GetSandbox(const std::string& id) {
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(std::string full, Resolve(sandboxes_, id, "sandbox"));
  return sandboxes_.at(full);
}

absl::StatusOr<ContainerRecord> CriStore::GetContainer(const std::string& id) {
  absl::MutexLock lock(&mu_);
  BERTH_ASSIGN_OR_RETURN(std::string full, Resolve(containers_, id, "container"));
  return containers_.at(full);
}

std::vector<SandboxRecord> CriStore::Sandboxes() {
  absl::MutexLock lock(&mu_);
  std::vector<SandboxRecord> out;
  for (const auto& [id, r] : sandboxes_) out.push_back(r);
  return out;
}

std::vector<ContainerRecord> CriStore::Containers() {
  absl::MutexLock lock(&mu_);
  std::vector<ContainerRecord> out;
  for (const auto& [id, r] : containers_) out.push_back(r);
  return out;
}

absl::Status CriStore::DeleteSandbox(const std::string& id) {
  ::unlink(absl::StrCat(root_, "/sandboxes/", id, ".json").c_str());
  absl::MutexLock lock(&mu_);
  sandboxes_.erase(id);
  return absl::OkStatus();
}

absl::Status CriStore::DeleteContainer(const std::string& id) {
  ::unlink(absl::StrCat(root_, "/containers/", id, ".json").c_str());
  absl::MutexLock lock(&mu_);
  containers_.erase(id);
  return absl::OkStatus();
}

}  // namespace berth::cri
