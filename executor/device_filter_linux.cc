// Loading and attaching the device filter: bpf(2) without libbpf.
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "executor/device_filter.h"

namespace berth::executor {
namespace {

int Bpf(int cmd, bpf_attr* attr) {
  return static_cast<int>(syscall(SYS_bpf, cmd, attr, sizeof(*attr)));
}

// Ids of the programs attached to the cgroup (not inherited ones). Empty on error.
std::vector<uint32_t> AttachedPrograms(int cgroup_fd) {
  std::vector<uint32_t> ids(64);
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.query.target_fd = cgroup_fd;
  attr.query.attach_type = BPF_CGROUP_DEVICE;
  attr.query.prog_ids = reinterpret_cast<uint64_t>(ids.data());
  attr.query.prog_cnt = static_cast<uint32_t>(ids.size());
  if (Bpf(BPF_PROG_QUERY, &attr) != 0) return {};
  ids.resize(attr.query.prog_cnt);
  return ids;
}

}  // namespace

absl::StatusOr<int> LoadDeviceFilter(const std::vector<bpf_insn>& insns) {
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
  attr.insns = reinterpret_cast<uint64_t>(insns.data());
  attr.insn_cnt = static_cast<uint32_t>(insns.size());
  attr.license = reinterpret_cast<uint64_t>(kDeviceFilterLicense);
  int fd = Bpf(BPF_PROG_LOAD, &attr);
  if (fd >= 0) return fd;
  int err = errno;
  std::string log;
  if (err == EACCES || err == EINVAL) {  // run again for the verifier's reason
    log.assign(16384, '\0');
    attr.log_buf = reinterpret_cast<uint64_t>(log.data());
    attr.log_size = static_cast<uint32_t>(log.size());
    attr.log_level = 1;
    fd = Bpf(BPF_PROG_LOAD, &attr);
    if (fd >= 0) return fd;
    log.resize(strlen(log.c_str()));
  }
  return ErrnoStatus(err, absl::StrCat("load device filter (", insns.size(), " instructions",
                                       log.empty() ? "" : ", verifier: ", log, ")"));
}

absl::Status ApplyDeviceFilter(const std::string& cgroup_dir,
                               const std::vector<DeviceRule>& rules) {
  auto insns = DeviceFilterProgram(rules);
  if (!insns.ok()) return insns.status();
  auto prog = LoadDeviceFilter(*insns);
  if (!prog.ok()) return prog.status();
  absl::Cleanup close_prog = [&] { close(*prog); };
  int cg = open(cgroup_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (cg < 0) return ErrnoStatus("open " + cgroup_dir);
  absl::Cleanup close_cg = [cg] { close(cg); };
  std::vector<uint32_t> old = AttachedPrograms(cg);
  bpf_attr attr;
  memset(&attr, 0, sizeof(attr));
  attr.target_fd = cg;
  attr.attach_bpf_fd = *prog;
  attr.attach_type = BPF_CGROUP_DEVICE;
  attr.attach_flags = BPF_F_ALLOW_MULTI;
  if (Bpf(BPF_PROG_ATTACH, &attr) != 0) return ErrnoStatus("attach device filter");
  // With ALLOW_MULTI every attached program must allow: drop the ones a previous Set left.
  for (uint32_t id : old) {
    bpf_attr get;
    memset(&get, 0, sizeof(get));
    get.prog_id = id;
    int old_fd = Bpf(BPF_PROG_GET_FD_BY_ID, &get);
    if (old_fd < 0) return ErrnoStatus("find old device filter");
    bpf_attr det;
    memset(&det, 0, sizeof(det));
    det.target_fd = cg;
    det.attach_bpf_fd = old_fd;
    det.attach_type = BPF_CGROUP_DEVICE;
    int rc = Bpf(BPF_PROG_DETACH, &det);
    int err = errno;
    close(old_fd);
    if (rc != 0) return ErrnoStatus(err, "detach old device filter");
  }
  return absl::OkStatus();
}

}  // namespace berth::executor
