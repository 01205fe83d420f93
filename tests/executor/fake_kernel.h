// A recording Kernel: every call becomes one line ("mount(src,tgt,type,0x..,data)") and can be
// made to fail with an errno by a prefix match, so setup ordering and error reporting are
// testable without root.
#pragma once

#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "executor/kernel.h"

namespace berth::executor {

class FakeKernel : public Kernel {
 public:
  std::vector<std::string> calls;
  std::map<std::string, int> fail;  // call prefix -> errno
  std::set<std::string> dirs = {"/"};
  std::set<std::string> files;

  int Record(std::string call) {
    calls.push_back(call);
    for (const auto& [prefix, err] : fail) {
      if (absl::StartsWith(call, prefix)) return -err;
    }
    return 0;
  }
  static std::string S(const char* s) { return s == nullptr ? "null" : s; }

  int Mount(const char* source, const char* target, const char* fstype, unsigned long flags,
            const char* data) override {
    return Record(absl::StrFormat("mount(%s,%s,%s,%#x,%s)", S(source), S(target), S(fstype),
                                  flags, S(data)));
  }
  int Umount2(const char* target, int flags) override {
    return Record(absl::StrCat("umount2(", target, ",", flags, ")"));
  }
  int PivotRoot(const char* n, const char* o) override {
    return Record(absl::StrCat("pivot_root(", n, ",", o, ")"));
  }
  int Chroot(const char* p) override { return Record(absl::StrCat("chroot(", p, ")")); }
  int Chdir(const char* p) override { return Record(absl::StrCat("chdir(", p, ")")); }
  int Mkdir(const char* p, mode_t) override {
    if (dirs.count(p)) return -EEXIST;
    int r = Record(absl::StrCat("mkdir(", p, ")"));
    if (r == 0) dirs.insert(p);
    return r;
  }
  int Mknod(const char* p, mode_t mode, dev_t dev) override {
    return Record(absl::StrFormat("mknod(%s,%o,%d:%d)", p, mode, major(dev), minor(dev)));
  }
  int Symlink(const char* t, const char* l) override {
    return Record(absl::StrCat("symlink(", t, ",", l, ")"));
  }
  int Unlink(const char* p) override { return Record(absl::StrCat("unlink(", p, ")")); }
  int Chown(const char* p, uid_t u, gid_t g) override {
    return Record(absl::StrCat("chown(", p, ",", u, ",", g, ")"));
  }
  int CreateFile(const char* p) override {
    if (files.count(p)) return -EEXIST;
    files.insert(p);
    return Record(absl::StrCat("create(", p, ")"));
  }
  int IsDir(const char* p) override {
    if (dirs.count(p)) return 1;
    if (files.count(p)) return 0;
    return -ENOENT;
  }
  long MountFlags(const char* p) override { return 0; }
  int WriteFile(const char* p, const char* d, size_t n) override {
    return Record(absl::StrCat("write(", p, ",", std::string(d, n), ")"));
  }
  int Access(const char* p, int) override { return Record(absl::StrCat("access(", p, ")")); }
  int Open(const char* p, int) override {
    int r = Record(absl::StrCat("open(", p, ")"));
    return r < 0 ? r : 100;
  }
  int Close(int fd) override { return 0; }
  int Dup2(int from, int to) override {
    return Record(absl::StrCat("dup2(", from, ",", to, ")"));
  }
  int Write(int fd, const void* d, size_t n) override {
    int r = Record(absl::StrCat("writefd(", fd, ")"));
    if (r == 0) written[fd].append(static_cast<const char*>(d), n);
    return r < 0 ? r : static_cast<int>(n);
  }
  std::map<int, std::string> written;  // fd -> bytes written to it
  int Read(int fd, void* d, size_t n) override {
    int r = Record(absl::StrCat("readfd(", fd, ")"));
    return r < 0 ? r : static_cast<int>(n);
  }
  int Ioctl(int fd, unsigned long req, void*) override {
    return Record(absl::StrFormat("ioctl(%d,%#x)", fd, req));
  }
  int SendFd(int sock, const char* name, int fd) override {
    return Record(absl::StrCat("sendfd(", sock, ",", name, ",", fd, ")"));
  }
  int Unshare(int flags) override { return Record(absl::StrFormat("unshare(%#x)", flags)); }
  int Setns(int fd, int t) override { return Record(absl::StrFormat("setns(%d,%#x)", fd, t)); }
  int Sethostname(const char* n, size_t len) override {
    return Record(absl::StrCat("sethostname(", std::string(n, len), ")"));
  }
  int Setdomainname(const char* n, size_t len) override {
    return Record(absl::StrCat("setdomainname(", std::string(n, len), ")"));
  }
  int Setsid() override { return Record("setsid()"); }
  int Setgroups(size_t n, const gid_t* g) override {
    std::string s = "setgroups(";
    for (size_t i = 0; i < n; ++i) absl::StrAppend(&s, i ? "," : "", g[i]);
    return Record(s + ")");
  }
  int Setresgid(gid_t g) override { return Record(absl::StrCat("setresgid(", g, ")")); }
  int Setresuid(uid_t u) override { return Record(absl::StrCat("setresuid(", u, ")")); }
  int Umask(mode_t m) override { return Record(absl::StrFormat("umask(%o)", m)); }
  int Setrlimit(int r, uint64_t s, uint64_t h) override {
    return Record(absl::StrCat("setrlimit(", r, ",", s, ",", h, ")"));
  }
  int Prctl(int o, unsigned long a, unsigned long b, unsigned long c) override {
    return Record(absl::StrCat("prctl(", o, ",", a, ",", b, ")"));
  }
  int Capset(uint64_t e, uint64_t p, uint64_t i) override {
    return Record(absl::StrFormat("capset(%#x,%#x,%#x)", e, p, i));
  }
  int SeccompLoad(const sock_fprog* prog, unsigned int flags) override {
    return Record(absl::StrCat("seccomp(", prog->len, ")"));
  }
  pid_t Getpid() override { return 1; }
  // Records "hook(path,timeout)"; hook_stdin gets what the hook would read. The result is
  // -errno from `fail`, else hook_status[path] (a wait status; 0 by default).
  int RunHook(const char* path, char* const[], char* const[], const struct iovec* in,
              int in_count, int timeout_sec) override {
    std::string data;
    for (int i = 0; i < in_count; ++i) {
      data.append(static_cast<const char*>(in[i].iov_base), in[i].iov_len);
    }
    hook_stdin.push_back(data);
    int r = Record(absl::StrCat("hook(", path, ",", timeout_sec, ")"));
    if (r < 0) return r;
    auto it = hook_status.find(path);
    return it == hook_status.end() ? 0 : it->second;
  }
  std::vector<std::string> hook_stdin;
  std::map<std::string, int> hook_status;

  int Execve(const char* p, char* const argv[], char* const[]) override {
    return Record(absl::StrCat("execve(", p, ",", argv[0], ")"));
  }

  // Index of the first call starting with `prefix`, or -1.
  int IndexOf(const std::string& prefix) const {
    for (size_t i = 0; i < calls.size(); ++i) {
      if (absl::StartsWith(calls[i], prefix)) return static_cast<int>(i);
    }
    return -1;
  }
};

}  // namespace berth::executor
