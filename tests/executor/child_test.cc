// The container setup sequence against the recording fake kernel: order, options, errors.
#include <linux/prctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "executor/plan.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/executor/fake_kernel.h"

namespace berth::executor {
namespace {

// A create-then-start init: sync socket fd 9, exec fifo fd 8.
NamespacePlan FifoNamespacePlan() {
  NamespacePlan ns;
  ns.sync_fd = 9;
  ns.exec_fifo = 8;
  strcpy(ns.exec_fifo_proc, "/proc/self/fd/8");
  return ns;
}

RootfsPlan SamplePlan() {
  RootfsPlan p;
  p.rootfs = "/b/rootfs";
  p.root_propagation = MS_SLAVE | MS_REC;
  MountOp proc{"/proc", "proc", "/b/rootfs/proc", "proc", ""};
  proc.flags = MS_NOSUID;
  MountOp bind{"/etc/hosts", "/h/hosts", "/b/rootfs/etc/hosts", "", ""};
  bind.bind = true;
  bind.file_target = true;
  bind.flags = MS_BIND | MS_RDONLY;
  bind.remount = true;
  p.mounts = {proc, bind};
  DeviceOp null;
  null.target = "/b/rootfs/dev/null";
  null.host_path = "/dev/null";
  null.mode = S_IFCHR | 0666;
  null.dev = makedev(1, 3);
  p.devices = {null};
  p.symlinks = {{"/proc/self/fd", "/b/rootfs/dev/fd"}};
  p.masked = {"/proc/kcore"};
  p.readonly = {"/proc/sys"};
  p.readonly_root = true;
  p.set_hostname = true;
  p.hostname = "box";
  return p;
}

TEST(RootfsSetupTest, OrderAndOptions) {
  FakeKernel k;
  k.dirs.insert("/proc/kcore");  // masked path: a directory -> tmpfs
  ChildMessage err;
  RootfsPlan plan = SamplePlan();
  ASSERT_EQ(RunRootfsSetup(plan, k, &err), 0) << static_cast<int>(err.step);
  int host = k.IndexOf("sethostname(box)");
  int prop = k.IndexOf("mount(null,/,null,0x84000");
  int bind_root = k.IndexOf("mount(/b/rootfs,/b/rootfs,null,0x5000");
  int proc = k.IndexOf("mount(proc,/b/rootfs/proc,proc,0x2,null)");
  int hosts = k.IndexOf("mount(/h/hosts,/b/rootfs/etc/hosts,null,0x1001");
  int hosts_ro = k.IndexOf("mount(null,/b/rootfs/etc/hosts,null,0x1021");
  int dev = k.IndexOf("mknod(/b/rootfs/dev/null,20666,1:3)");
  int link = k.IndexOf("symlink(/proc/self/fd,/b/rootfs/dev/fd)");
  int pivot = k.IndexOf("pivot_root(.,.)");
  int umount = k.IndexOf("umount2(.,2)");
  int ro_path = k.IndexOf("mount(/proc/sys,/proc/sys,null,0x5021");
  int mask = k.IndexOf("mount(tmpfs,/proc/kcore,tmpfs,0x1");
  int ro_root = k.IndexOf("mount(null,/,null,0x1021");
  for (int i : {host, prop, bind_root, proc, hosts, hosts_ro, dev, link, pivot, umount, ro_path,
                mask, ro_root}) {
    ASSERT_GE(i, 0) << ::testing::PrintToString(k.calls);
  }
  EXPECT_LT(host, prop);
  EXPECT_LT(prop, bind_root);
  EXPECT_LT(bind_root, proc);
  EXPECT_LT(proc, hosts);
  EXPECT_LT(hosts, hosts_ro);
  EXPECT_LT(hosts_ro, dev);
  EXPECT_LT(dev, link);
  EXPECT_LT(link, pivot);
  EXPECT_LT(pivot, umount);
  EXPECT_LT(umount, ro_path);
  EXPECT_LT(ro_path, mask);
  EXPECT_LT(mask, ro_root);
  // The bind target of a file is created as a file, its parent as a directory.
  EXPECT_GE(k.IndexOf("mkdir(/b/rootfs/etc)"), 0);
  EXPECT_GE(k.IndexOf("create(/b/rootfs/etc/hosts)"), 0);
}

TEST(RootfsSetupTest, FailingMountNamesTheStep) {
  FakeKernel k;
  k.fail["mount(proc,"] = EPERM;
  ChildMessage err;
  RootfsPlan plan = SamplePlan();
  ASSERT_EQ(RunRootfsSetup(plan, k, &err), -1);
  EXPECT_EQ(err.step, Step::kMount);
  EXPECT_EQ(err.err, EPERM);
  EXPECT_EQ(err.index, 0);
  absl::Status st = ChildErrorToStatus(err, &plan, nullptr);
  EXPECT_EQ(st.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("mount /proc"));
  // Nothing after the failure ran.
  EXPECT_EQ(k.IndexOf("pivot_root"), -1);
}

TEST(RootfsSetupTest, NoPivotMovesAndChroots) {
  FakeKernel k;
  RootfsPlan plan = SamplePlan();
  plan.pivot = false;
  plan.readonly_root = false;
  ChildMessage err;
  ASSERT_EQ(RunRootfsSetup(plan, k, &err), 0);
  EXPECT_EQ(k.IndexOf("pivot_root"), -1);
  EXPECT_LT(k.IndexOf("mount(/b/rootfs,/,null,0x2000"), k.IndexOf("chroot(.)"));
}

TEST(RootfsSetupTest, MissingMaskedPathIsSkipped) {
  FakeKernel k;
  RootfsPlan plan = SamplePlan();
  plan.masked = {"/proc/nothing"};
  ChildMessage err;
  ASSERT_EQ(RunRootfsSetup(plan, k, &err), 0);
  EXPECT_EQ(k.IndexOf("mount(/dev/null,/proc/nothing"), -1);
}

ProcessPlan SampleProcess() {
  ProcessPlan p;
  p.args = {"sh"};
  p.env = {"PATH=/bin"};
  p.exec_candidates = {"/usr/bin/sh", "/bin/sh"};
  p.cwd = "/work";
  p.uid = 1000;
  p.gid = 1001;
  p.additional_gids = {5};
  p.set_caps = true;
  p.last_cap = 3;
  p.bounding = 0b0101;
  p.effective = p.permitted = 0b0001;
  p.rlimits = {{RLIMIT_NOFILE, {512, 1024}}};
  p.oom_score_adj = "-500";
  p.seccomp.resize(4);
  p.Finalize();
  return p;
}

TEST(ProcessSetupTest, IdentityOrderAndSeccompBeforeDroppingCaps) {
  FakeKernel k;
  k.fail["access(/usr/bin/sh)"] = ENOENT;
  k.fail["write(/proc/self/oom_score_adj"] = EACCES;  // no CAP_SYS_RESOURCE: tolerated
  ProcessPlan p = SampleProcess();
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, nullptr, k, &err), 0) << static_cast<int>(err.step);
  int rlimit = k.IndexOf("setrlimit(7,512,1024)");
  int seccomp = k.IndexOf("seccomp(4)");
  int drop1 = k.IndexOf(absl::StrCat("prctl(", PR_CAPBSET_DROP, ",1,"));
  int drop3 = k.IndexOf(absl::StrCat("prctl(", PR_CAPBSET_DROP, ",3,"));
  int groups = k.IndexOf("setgroups(5)");
  int gid = k.IndexOf("setresgid(1001)");
  int uid = k.IndexOf("setresuid(1000)");
  int capset = k.IndexOf("capset(0x1,0x1,0)");
  int cwd = k.IndexOf("chdir(/work)");
  int look = k.IndexOf("access(/bin/sh)");
  for (int i : {rlimit, seccomp, drop1, drop3, groups, gid, uid, capset, cwd, look}) {
    ASSERT_GE(i, 0) << ::testing::PrintToString(k.calls);
  }
  EXPECT_EQ(k.IndexOf(absl::StrCat("prctl(", PR_CAPBSET_DROP, ",0,")), -1);  // kept
  EXPECT_LT(rlimit, seccomp);
  EXPECT_LT(seccomp, drop1);  // without no_new_privs the filter needs CAP_SYS_ADMIN
  EXPECT_LT(drop3, groups);
  EXPECT_LT(groups, gid);
  EXPECT_LT(gid, uid);
  EXPECT_LT(uid, capset);
  EXPECT_LT(capset, cwd);
  EXPECT_LT(cwd, look);
  ASSERT_EQ(RunExec(p, k, &err), -1);  // the fake execve "fails" with 0 -> reported
  EXPECT_GE(k.IndexOf("execve(/usr/bin/sh,sh)"), 0);
}

TEST(ProcessSetupTest, NoNewPrivsLoadsSeccompLast) {
  FakeKernel k;
  ProcessPlan p = SampleProcess();
  p.no_new_privs = true;
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, nullptr, k, &err), 0);
  EXPECT_LT(k.IndexOf(absl::StrCat("prctl(", PR_SET_NO_NEW_PRIVS)), k.IndexOf("setresuid"));
  EXPECT_LT(k.IndexOf("capset"), k.IndexOf("seccomp(4)"));
}

TEST(ProcessSetupTest, MissingExecutableIsNotFound) {
  FakeKernel k;
  k.fail["access("] = ENOENT;
  ProcessPlan p = SampleProcess();
  p.args = {"does-not-exist"};
  p.Finalize();
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, nullptr, k, &err), -1);
  EXPECT_EQ(err.step, Step::kLookPath);
  absl::Status st = ChildErrorToStatus(err, nullptr, &p);
  EXPECT_EQ(st.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(st.message()), ::testing::HasSubstr("\"does-not-exist\": executable file not found"));
}

TEST(ProcessSetupTest, ExecFifoWaitComesAfterReady) {
  FakeKernel k;
  ProcessPlan p = SampleProcess();
  NamespacePlan ns = FifoNamespacePlan();
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, &ns, k, &err), 0);
  EXPECT_LT(k.IndexOf("writefd(9)"), k.IndexOf("open(/proc/self/fd/8)"));
  EXPECT_LT(k.IndexOf("access("), k.IndexOf("writefd(9)"));
}

TEST(ProcessSetupTest, ConsoleSendsMasterAndDupsSlave) {
  FakeKernel k;
  ProcessPlan p = SampleProcess();
  p.terminal = true;
  p.console_socket = 7;
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, nullptr, k, &err), 0);
  int open_ptmx = k.IndexOf("open(/dev/ptmx)");
  int send = k.IndexOf("sendfd(7,/dev/pts/0,100)");
  int ctty = k.IndexOf("setsid()");
  int dup = k.IndexOf("dup2(100,2)");
  for (int i : {open_ptmx, send, ctty, dup}) ASSERT_GE(i, 0) << ::testing::PrintToString(k.calls);
  EXPECT_LT(open_ptmx, send);
  EXPECT_LT(send, ctty);
  EXPECT_LT(ctty, dup);
}

TEST(NamespaceSetupTest, JoinsThenBecomesRootThenUnsharesCgroup) {
  FakeKernel k;
  NamespacePlan ns;
  ns.join = {{3, CLONE_NEWUSER}, {4, CLONE_NEWNET}};
  ns.become_root = true;
  ns.unshare_cgroup = true;
  ChildMessage err;
  ASSERT_EQ(RunNamespaceSetup(ns, k, &err), 0);
  EXPECT_EQ(k.calls, (std::vector<std::string>{"setns(3,0x10000000)", "setns(4,0x40000000)",
                                               "setresgid(0)", "setresuid(0)",
                                               "unshare(0x2000000)"}));
}

TEST(MkdirAllTest, CreatesEachMissingLevel) {
  FakeKernel k;
  k.dirs.insert("/a");
  ASSERT_EQ(MkdirAllNoAlloc(k, "/a/b/c", 0755), 0);
  EXPECT_EQ(k.calls, (std::vector<std::string>{"mkdir(/a/b)", "mkdir(/a/b/c)"}));
}

}  // namespace
}  // namespace berth::executor

namespace berth::executor {
namespace {

HookPlan SampleHooks(std::vector<std::string> paths) {
  HookPlan h;
  for (auto& path : paths) h.hooks.push_back(HookOp{path, {path, "arg"}, {"A=1"}, {}, {}, 5});
  h.state_prefix = R"({"id":"c1","pid":)";
  h.state_suffix = R"(,"status":"creating"})";
  h.Finalize();
  return h;
}

TEST(HookSetupTest, CreateContainerRunsAfterMountsBeforePivotRoot) {
  FakeKernel k;
  RootfsPlan plan = SamplePlan();
  plan.create_container = SampleHooks({"/hooks/one", "/hooks/two"});
  ChildMessage err;
  ASSERT_EQ(RunRootfsSetup(plan, k, &err), 0) << ::testing::PrintToString(k.calls);
  int link = k.IndexOf("symlink(/proc/self/fd,/b/rootfs/dev/fd)");
  int one = k.IndexOf("hook(/hooks/one,5)");
  int two = k.IndexOf("hook(/hooks/two,5)");
  int pivot = k.IndexOf("pivot_root(.,.)");
  ASSERT_GE(one, 0);
  EXPECT_LT(link, one);
  EXPECT_LT(one, two);
  EXPECT_LT(two, pivot);
  // The state on stdin, with the pid as the container sees it filled in.
  ASSERT_EQ(k.hook_stdin.size(), 2u);
  EXPECT_EQ(k.hook_stdin[0], R"({"id":"c1","pid":1,"status":"creating"})");
}

TEST(HookSetupTest, FailingCreateContainerHookStopsSetupAndIsNamed) {
  FakeKernel k;
  k.hook_status["/hooks/two"] = 3 << 8;  // exit status 3
  RootfsPlan plan = SamplePlan();
  plan.create_container = SampleHooks({"/hooks/one", "/hooks/two"});
  ChildMessage err;
  ASSERT_EQ(RunRootfsSetup(plan, k, &err), -1);
  EXPECT_EQ(err.step, Step::kCreateContainerHook);
  EXPECT_EQ(err.index, 1);
  EXPECT_EQ(k.IndexOf("pivot_root"), -1);
  absl::Status st = ChildErrorToStatus(err, &plan, nullptr);
  EXPECT_EQ(st.message(), "createContainer hook /hooks/two failed: exit status 3");

  FakeKernel timeout;
  timeout.fail["hook(/hooks/one"] = ETIMEDOUT;
  ASSERT_EQ(RunRootfsSetup(plan, timeout, &err), -1);
  st = ChildErrorToStatus(err, &plan, nullptr);
  EXPECT_EQ(st.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(st.message(), "createContainer hook /hooks/one: timed out after 5s");

  FakeKernel missing;
  missing.fail["hook(/hooks/one"] = EACCES;  // could not even start it
  ASSERT_EQ(RunRootfsSetup(plan, missing, &err), -1);
  EXPECT_THAT(std::string(ChildErrorToStatus(err, &plan, nullptr).message()),
              ::testing::HasSubstr("createContainer hook /hooks/one: Permission denied"));
}

TEST(HookSetupTest, StartContainerRunsAfterTheFifoOpenBeforeItsByte) {
  FakeKernel k;
  ProcessPlan p = SampleProcess();
  p.start_container = SampleHooks({"/hooks/start"});
  NamespacePlan ns = FifoNamespacePlan();
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, &ns, k, &err), 0);
  int open = k.IndexOf("open(/proc/self/fd/8)");
  int hook = k.IndexOf("hook(/hooks/start,5)");
  ASSERT_GE(hook, 0);
  EXPECT_LT(open, hook);
  EXPECT_EQ(k.written[100], "0");  // the fifo (fd 100 in the fake) gets "0" after the hook
  EXPECT_LT(hook, k.IndexOf("writefd(100)"));
}

TEST(HookSetupTest, FailingStartContainerHookWritesTheErrorToTheFifo) {
  FakeKernel k;
  k.hook_status["/hooks/start"] = 1 << 8;
  ProcessPlan p = SampleProcess();
  p.start_container = SampleHooks({"/hooks/start"});
  NamespacePlan ns = FifoNamespacePlan();
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, &ns, k, &err), -1);
  const std::string& fifo = k.written[100];
  ASSERT_EQ(fifo.size(), 1 + sizeof(ChildMessage));
  EXPECT_EQ(fifo[0], kFifoError);
  ChildMessage sent;
  memcpy(&sent, fifo.data() + 1, sizeof(sent));
  EXPECT_EQ(sent.step, Step::kStartContainerHook);
  EXPECT_EQ(ChildErrorToStatus(sent, nullptr, &p).message(),
            "startContainer hook /hooks/start failed: exit status 1");
}

TEST(HookSetupTest, RunWithoutFifoRunsStartContainerAfterTheParentsGo) {
  FakeKernel k;
  ProcessPlan p = SampleProcess();
  p.start_container = SampleHooks({"/hooks/start"});
  NamespacePlan ns;
  ns.sync_fd = 9;
  ns.wait_parent_before_exec = true;
  ChildMessage err;
  ASSERT_EQ(RunProcessSetup(p, &ns, k, &err), 0);
  EXPECT_LT(k.IndexOf("readfd(9)"), k.IndexOf("hook(/hooks/start,5)"));
}

}  // namespace
}  // namespace berth::executor
