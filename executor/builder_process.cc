// Process plan (argv/envp, PATH lookup candidates, identity, capabilities, rlimits) and the
// seccomp compiler.
#include <seccomp.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "executor/builder.h"

namespace berth::executor {
namespace {

int LastCap() {
  static int last = [] {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int v = 40;
    if (!(in >> v)) v = 40;
    return v;
  }();
  return last;
}

// exec.LookPath semantics: a name with a slash is used as is; otherwise each $PATH entry.
std::vector<std::string> ExecCandidates(const std::string& arg0,
                                        const std::vector<std::string>& env) {
  if (arg0.find('/') != std::string::npos) return {arg0};
  std::string path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
  for (const auto& e : env) {
    if (absl::StartsWith(e, "PATH=")) path = e.substr(5);
  }
  std::vector<std::string> out;
  for (absl::string_view dir : absl::StrSplit(path, ':')) {
    if (dir.empty()) dir = ".";
    out.push_back(absl::StrCat(dir, "/", arg0));
  }
  return out;
}

absl::StatusOr<uint32_t> Action(const std::string& name, std::optional<uint32_t> errno_ret) {
  if (name == "SCMP_ACT_KILL" || name == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL;
  if (name == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
  if (name == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
  if (name == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(errno_ret.value_or(EPERM));
  if (name == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
  if (name == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
  return absl::InvalidArgumentError("seccomp: unsupported action " + name);
}

absl::StatusOr<scmp_compare> Op(const std::string& op) {
  if (op == "SCMP_CMP_NE") return SCMP_CMP_NE;
  if (op == "SCMP_CMP_LT") return SCMP_CMP_LT;
  if (op == "SCMP_CMP_LE") return SCMP_CMP_LE;
  if (op == "SCMP_CMP_EQ") return SCMP_CMP_EQ;
  if (op == "SCMP_CMP_GE") return SCMP_CMP_GE;
  if (op == "SCMP_CMP_GT") return SCMP_CMP_GT;
  if (op == "SCMP_CMP_MASKED_EQ") return SCMP_CMP_MASKED_EQ;
  return absl::InvalidArgumentError("seccomp: unsupported operator " + op);
}

absl::Status AddRules(scmp_filter_ctx ctx, const Seccomp& profile, uint32_t default_action) {
  for (const auto& sc : profile.syscalls) {
    auto action = Action(sc.action, sc.errno_ret);
    if (!action.ok()) return action.status();
    if (*action == default_action) continue;  // libseccomp rejects redundant rules
    std::vector<scmp_arg_cmp> cmps;
    for (const auto& a : sc.args) {
      auto op = Op(a.op);
      if (!op.ok()) return op.status();
      cmps.push_back(scmp_arg_cmp{a.index, *op, a.value, a.value_two});
    }
    for (const auto& name : sc.names) {
      int nr = seccomp_syscall_resolve_name(name.c_str());
      if (nr == __NR_SCMP_ERROR) continue;  // unknown on this kernel/arch: skip like runc
      int rc = seccomp_rule_add_array(ctx, *action, nr, cmps.size(), cmps.data());
      if (rc < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("seccomp: rule for ", name, ": ", strerror(-rc)));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

void AddDefaultHome(const std::string& rootfs, uint32_t uid, std::vector<std::string>& env) {
  for (const auto& e : env) {
    if (absl::StartsWith(e, "HOME=")) return;
  }
  std::string home = "/";
  std::ifstream passwd(SecureJoin(rootfs, "/etc/passwd"));
  std::string line;
  while (std::getline(passwd, line)) {
    // name:password:uid:gid:gecos:home:shell
    std::vector<std::string> f = absl::StrSplit(line, ':');
    uint32_t id;
    if (f.size() >= 6 && absl::SimpleAtoi(f[2], &id) && id == uid && !f[5].empty()) {
      home = f[5];
      break;
    }
  }
  env.push_back("HOME=" + home);
}

absl::StatusOr<std::vector<sock_filter>> CompileSeccomp(const Seccomp& profile,
                                                        unsigned int* flags) {
  auto def = Action(profile.default_action, profile.default_errno_ret);
  if (!def.ok()) return def.status();
  scmp_filter_ctx ctx = seccomp_init(*def);
  if (ctx == nullptr) return absl::InternalError("seccomp_init failed");
  // The filter is loaded by the child itself, never by libseccomp.
  seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  for (const auto& arch : profile.architectures) {
    std::string a = absl::AsciiStrToLower(arch.substr(arch.rfind('_') + 1));
    if (absl::StartsWith(arch, "SCMP_ARCH_")) {
      a = absl::AsciiStrToLower(arch.substr(10));
    }
    uint32_t token = seccomp_arch_resolve_name(a.c_str());
    if (token != 0) seccomp_arch_add(ctx, token);  // EEXIST for the native one is fine
  }
  absl::Status st = AddRules(ctx, profile, *def);
  std::vector<sock_filter> out;
  if (st.ok()) {
    int fd = memfd_create("seccomp-bpf", MFD_CLOEXEC);
    if (fd < 0 || seccomp_export_bpf(ctx, fd) < 0) {
      st = absl::InternalError("seccomp_export_bpf failed");
    } else {
      off_t size = lseek(fd, 0, SEEK_END);
      out.resize(static_cast<size_t>(size) / sizeof(sock_filter));
      if (pread(fd, out.data(), static_cast<size_t>(size), 0) != size) {
        st = absl::InternalError("seccomp: short read of the BPF program");
      }
    }
    if (fd >= 0) close(fd);
  }
  seccomp_release(ctx);
  if (!st.ok()) return st;
  *flags = 0;
  for (const auto& f : profile.flags) {
    if (f == "SECCOMP_FILTER_FLAG_LOG") *flags |= 2;           // SECCOMP_FILTER_FLAG_LOG
    if (f == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") *flags |= 4;    // SECCOMP_FILTER_FLAG_SPEC_ALLOW
  }
  return out;
}

absl::StatusOr<ProcessPlan> BuildProcessPlan(const Process& process, const Seccomp* seccomp) {
  if (process.args.empty()) return absl::InvalidArgumentError("process.args must not be empty");
  ProcessPlan plan;
  plan.args = process.args;
  plan.env = process.env;
  plan.exec_candidates = ExecCandidates(process.args[0], process.env);
  plan.cwd = process.cwd.empty() ? "/" : process.cwd;
  plan.uid = process.user.uid;
  plan.gid = process.user.gid;
  plan.additional_gids.assign(process.user.additional_gids.begin(),
                              process.user.additional_gids.end());
  if (process.user.umask) {
    plan.set_umask = true;
    plan.umask = static_cast<mode_t>(*process.user.umask);
  }
  plan.last_cap = LastCap();
  if (process.capabilities) {
    const auto& c = *process.capabilities;
    plan.set_caps = true;
    plan.bounding = c.bounding;
    plan.effective = c.effective;
    plan.permitted = c.permitted;
    plan.inheritable = c.inheritable;
    plan.ambient = c.ambient;
  }
  for (const auto& r : process.rlimits) {
    plan.rlimits.push_back({r.resource, {r.soft, r.hard}});
  }
  plan.no_new_privs = process.no_new_privileges;
  if (process.oom_score_adj) plan.oom_score_adj = std::to_string(*process.oom_score_adj);
  plan.terminal = process.terminal;
  plan.rows = static_cast<uint16_t>(process.console_height);
  plan.cols = static_cast<uint16_t>(process.console_width);
  if (seccomp != nullptr) {
    auto bpf = CompileSeccomp(*seccomp, &plan.seccomp_flags);
    if (!bpf.ok()) return bpf.status();
    plan.seccomp = std::move(*bpf);
  }
  plan.Finalize();
  return plan;
}

}  // namespace berth::executor
