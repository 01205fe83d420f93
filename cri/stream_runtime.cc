#include "cri/stream_runtime.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/log.h"
#include "core/status.h"
#include "core/status_macros.h"

namespace berth::cri {
namespace {

namespace task = ::containerd::task::v2;

constexpr absl::Duration kTick = absl::Milliseconds(100);
constexpr char kProcessTypeUrl[] = "types.containerd.io/opencontainers/runtime-spec/1/Process";

// Writes all of `data`, waiting at most `budget` for a slow reader. False when the reader is
// gone or too slow (the caller stops writing to it).
bool SendAll(int fd, absl::string_view data, absl::Duration budget) {
  absl::Time deadline = absl::Now() + budget;
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) return false;
    int left = static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()));
    if (left <= 0) return false;
    pollfd p{fd, POLLOUT, 0};
    poll(&p, 1, left);
  }
  return true;
}

// Blocking write of all of `data` to a fifo. False on error (the reader is gone).
bool WriteFd(int fd, absl::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads what is available on `fd` within one tick. >0 bytes, 0 at EOF, -1 nothing yet,
// -2 on error.
ssize_t ReadTick(int fd, char* buf, size_t size) {
  pollfd p{fd, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(kTick)));
  if (r <= 0) return -1;
  ssize_t n = read(fd, buf, size);
  if (n < 0) return (errno == EINTR || errno == EAGAIN) ? -1 : -2;
  return n;
}

bool Gone(const streaming::Streams& s) {
  return s.client_gone != nullptr && s.client_gone->HasBeenNotified();
}

// One shim call with a short deadline whose failure only matters to the log.
void BestEffort(runtime::Shim& shim, const char* method, const google::protobuf::Message& req) {
  absl::Status st = shim.Call(method, req, nullptr, absl::Seconds(10));
  if (!st.ok()) log::Get("cri")->debug("streaming: {} on {}: {}", method, shim.id(), st.ToString());
}

void Resize(runtime::Shim& shim, const std::string& id, const std::string& exec_id,
            streaming::TerminalSize size) {
  task::ResizePtyRequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_width(size.width);
  req.set_height(size.height);
  BestEffort(shim, "ResizePty", req);
}

void CloseIo(runtime::Shim& shim, const std::string& id, const std::string& exec_id) {
  task::CloseIORequest req;
  req.set_id(id);
  req.set_exec_id(exec_id);
  req.set_stdin(true);
  BestEffort(shim, "CloseIO", req);
}

// The fifos of one exec session and berthd's end of its stdin; removed on destruction.
struct ExecFifos {
  std::string in, out, err;
  int in_fd = -1;
  ~ExecFifos() {
    if (in_fd >= 0) close(in_fd);
    if (!in.empty()) {
      // A shim reader still blocked in open() (the exec ended before we opened our end)
      // is released with EOF instead of waiting forever on an unlinked fifo.
      int release = open(in.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (release >= 0) close(release);
    }
    for (const std::string* p : {&in, &out, &err}) {
      if (!p->empty()) unlink(p->c_str());
    }
  }
  absl::Status Make(const std::string& prefix, bool with_stdin, bool tty) {
    out = prefix + "-stdout";
    BERTH_RETURN_IF_ERROR(MakeFifo(out));
    if (!tty) {  // a terminal merges stderr into the pty
      err = prefix + "-stderr";
      BERTH_RETURN_IF_ERROR(MakeFifo(err));
    }
    if (with_stdin) {
      in = prefix + "-stdin";
      BERTH_RETURN_IF_ERROR(MakeFifo(in));
    }
    return absl::OkStatus();
  }
  // Opens our writing end once the shim's reader is there (it opens the fifo only after the
  // process started). Not O_RDWR: bytes written before the reader came would be lost if we
  // closed first (a short stdin), and the shim's open would then wait for a writer forever.
  bool OpenWriter(const std::atomic<bool>& done) {
    while (!done.load()) {
      in_fd = open(in.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
      if (in_fd >= 0) {
        fcntl(in_fd, F_SETFL, fcntl(in_fd, F_GETFL) & ~O_NONBLOCK);
        return true;
      }
      if (errno != ENXIO && errno != EINTR) return false;
      absl::SleepFor(absl::Milliseconds(5));
    }
    return false;
  }
};

}  // namespace

absl::StatusOr<int> StreamRuntime::Exec(const std::string& container_id,
                                        const std::vector<std::string>& cmd,
                                        streaming::Streams& s) {
  if (cmd.empty()) return absl::InvalidArgumentError("exec command is empty");
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, core_.Refresh(container_id));
  if (r.state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " is not running"));
  }
  BERTH_ASSIGN_OR_RETURN(auto shim, core_.deps_.tasks->Get(core_.ns_, r.id));
  BERTH_ASSIGN_OR_RETURN(containers::Container c, core_.deps_.containers->Get(core_.ns_, r.id));
  nlohmann::json spec = nlohmann::json::parse(c.spec.value(), nullptr, false);
  nlohmann::json process = spec.is_object() && spec.contains("process") ? spec["process"]
                                                                         : nlohmann::json::object();
  process["args"] = cmd;
  process["terminal"] = s.tty;
  if (s.tty) {
    // containerd's CRI exec adds TERM=xterm for a terminal (so `clear`, `top` work).
    if (!process["env"].is_array()) process["env"] = nlohmann::json::array();
    process["env"].push_back("TERM=xterm");
  }
  std::string exec_id = NewId().substr(0, 32);
  ExecFifos fifos;
  BERTH_RETURN_IF_ERROR(fifos.Make(
      absl::StrCat(core_.deps_.state, "/containers/", r.id, "/exec-", exec_id),
      s.stdin_fd >= 0, s.tty));
  // Output goes straight to the session's sockets; the server drains them even after the
  // client left, so a blocking write here cannot hang for good.
  auto pump = FifoPump::Start(
      fifos.err.empty() ? std::vector<std::string>{fifos.out}
                        : std::vector<std::string>{fifos.out, fifos.err},
      [&s](int i, const char* d, size_t n) {
        int fd = i == 0 ? s.stdout_fd : s.stderr_fd;
        if (fd >= 0) SendAll(fd, absl::string_view(d, n), absl::Seconds(30));
      },
      nullptr);
  if (!pump.ok()) return pump.status();

  task::ExecProcessRequest ereq;
  ereq.set_id(r.id);
  ereq.set_exec_id(exec_id);
  ereq.set_terminal(s.tty);
  ereq.set_stdin(fifos.in);
  ereq.set_stdout(fifos.out);
  ereq.set_stderr(fifos.err);
  ereq.mutable_spec()->set_type_url(kProcessTypeUrl);
  ereq.mutable_spec()->set_value(process.dump());
  absl::Status st = shim->Call("Exec", ereq, nullptr, absl::Seconds(30));
  if (st.ok()) {
    task::StartRequest sreq;
    sreq.set_id(r.id);
    sreq.set_exec_id(exec_id);
    task::StartResponse sresp;
    st = shim->Call("Start", sreq, &sresp, absl::Seconds(30));
  }
  task::WaitResponse wresp;
  if (st.ok()) {
    std::atomic<bool> done{false};
    // Client stdin -> the exec's stdin fifo; at the client's EOF, close ours and CloseIO
    // (with a terminal the shim then sends ^D).
    std::thread in_thread([&] {
      if (fifos.in.empty() || !fifos.OpenWriter(done)) return;
      char buf[16 * 1024];
      while (!done.load()) {
        ssize_t n = ReadTick(s.stdin_fd, buf, sizeof(buf));
        if (n == -1) continue;
        if (n > 0 && WriteFd(fifos.in_fd, absl::string_view(buf, n))) continue;
        close(fifos.in_fd);
        fifos.in_fd = -1;
        CloseIo(*shim, r.id, exec_id);
        return;
      }
    });
    // Resize events, and SIGKILL for the exec when the client hangs up (kubelet does the
    // same through the runtime: a session's process must not outlive its client).
    std::thread control([&] {
      bool killed = false;
      while (!done.load()) {
        if (!killed && Gone(s)) {
          task::KillRequest kreq;
          kreq.set_id(r.id);
          kreq.set_exec_id(exec_id);
          kreq.set_signal(SIGKILL);
          BestEffort(*shim, "Kill", kreq);
          killed = true;
        }
        if (s.resize != nullptr && !s.resize->closed()) {
          if (auto size = s.resize->NextWithTimeout(kTick)) Resize(*shim, r.id, exec_id, *size);
        } else if (s.client_gone != nullptr) {
          s.client_gone->WaitForNotificationWithTimeout(kTick);
        } else {
          absl::SleepFor(kTick);
        }
      }
    });
    task::WaitRequest wreq;
    wreq.set_id(r.id);
    wreq.set_exec_id(exec_id);
    st = shim->Call("Wait", wreq, &wresp);
    done = true;
    control.join();
    in_thread.join();
  }
  task::DeleteRequest dreq;
  dreq.set_id(r.id);
  dreq.set_exec_id(exec_id);
  task::DeleteResponse dresp;
  shim->Call("Delete", dreq, &dresp, absl::Seconds(10)).IgnoreError();
  // The shim's copies end when the process (and whatever it left holding the pty) is gone.
  (*pump)->WaitDone(absl::Seconds(2));
  (*pump)->Stop();
  if (!st.ok()) return Annotate(st, absl::StrCat("exec in container ", r.id));
  return static_cast<int>(wresp.exit_status());
}

absl::Status StreamRuntime::Attach(const std::string& container_id, streaming::Streams& s) {
  BERTH_ASSIGN_OR_RETURN(ContainerRecord r, core_.Refresh(container_id));
  if (r.state != v1::CONTAINER_RUNNING) {
    return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " is not running"));
  }
  std::shared_ptr<AttachPoint> ap;
  {
    absl::MutexLock lock(&core_.mu_);
    auto it = core_.loggers_.find(r.id);
    if (it != core_.loggers_.end()) ap = it->second->attach_point();
  }
  if (ap == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("container ", r.id, " has no attachable stdio"));
  }
  BERTH_ASSIGN_OR_RETURN(auto shim, core_.deps_.tasks->Get(core_.ns_, r.id));
  // A tap that fell behind or lost its client is switched off rather than stall the log pump.
  auto broken = std::make_shared<std::atomic<bool>>(false);
  int tap = ap->AddTap([out = s.stdout_fd, err = s.stderr_fd, tty = s.tty, broken](
                           int stream, absl::string_view data) {
    int fd = (stream == 0 || tty) ? out : err;
    if (fd < 0 || broken->load()) return;
    if (!SendAll(fd, data, absl::Seconds(2))) broken->store(true);
  });
  std::atomic<bool> done{false};
  bool use_stdin = s.stdin_fd >= 0 && ap->has_stdin();
  std::thread in_thread([&] {
    if (!use_stdin) return;
    char buf[16 * 1024];
    while (!done.load()) {
      ssize_t n = ReadTick(s.stdin_fd, buf, sizeof(buf));
      if (n == -1) continue;
      if (n > 0 && ap->WriteStdin(absl::string_view(buf, n)).ok()) continue;
      return;  // the client's stdin ended (stdin_once is handled when the session ends)
    }
  });
  while (!Gone(s) && !ap->ended()) {
    if (s.resize != nullptr && !s.resize->closed()) {
      if (auto size = s.resize->NextWithTimeout(kTick)) Resize(*shim, r.id, "", *size);
    } else {
      ap->WaitEnded(kTick);
    }
  }
  done = true;
  in_thread.join();
  ap->RemoveTap(tap);
  // CRI stdin_once: the container's stdin closes after the first attach that used it.
  if (use_stdin && ap->stdin_once()) {
    ap->CloseStdin();
    CloseIo(*shim, r.id, "");
  }
  return absl::OkStatus();
}

absl::Status StreamRuntime::PortForward(const std::string& pod_sandbox_id, int32_t port, int fd) {
  BERTH_ASSIGN_OR_RETURN(SandboxRecord sb, core_.store_.GetSandbox(pod_sandbox_id));
  if (sb.state != v1::SANDBOX_READY) {
    return absl::FailedPreconditionError(absl::StrCat("sandbox ", sb.id, " is not ready"));
  }
  BERTH_ASSIGN_OR_RETURN(int conn, DialInNetns(sb.ns.net, port));
  CopyBothWays(fd, conn);
  close(conn);
  return absl::OkStatus();
}

absl::StatusOr<int> DialInNetns(const std::string& netns_path, int port) {
  absl::StatusOr<int> result = absl::InternalError("dial did not run");
  // setns(CLONE_NEWNET) changes only the calling thread; this thread exists for that alone
  // and ends right after, while the socket stays in the namespace it was created in.
  std::thread([&] {
    if (!netns_path.empty()) {
      int ns = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
      if (ns < 0) {
        result = ErrnoStatus(absl::StrCat("open netns ", netns_path));
        return;
      }
      int rc = setns(ns, CLONE_NEWNET);
      int saved = errno;
      close(ns);
      if (rc != 0) {
        errno = saved;
        result = ErrnoStatus(absl::StrCat("setns ", netns_path));
        return;
      }
    }
    std::string tried;
    for (bool v6 : {false, true}) {
      sockaddr_storage ss{};
      socklen_t len;
      if (v6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
        a->sin6_family = AF_INET6;
        a->sin6_port = htons(static_cast<uint16_t>(port));
        a->sin6_addr = in6addr_loopback;
        len = sizeof(*a);
      } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&ss);
        a->sin_family = AF_INET;
        a->sin_port = htons(static_cast<uint16_t>(port));
        a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        len = sizeof(*a);
      }
      int fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
      if (fd < 0) continue;
      int rc = connect(fd, reinterpret_cast<sockaddr*>(&ss), len);
      if (rc != 0 && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = ETIMEDOUT;
        socklen_t elen = sizeof(err);
        if (poll(&p, 1, 10000) == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
        rc = err == 0 ? 0 : -1;
        errno = err;
      }
      if (rc == 0) {
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
        result = fd;
        return;
      }
      absl::StrAppend(&tried, tried.empty() ? "" : ", ", v6 ? "[::1]" : "127.0.0.1", ": ",
                      strerror(errno));
      close(fd);
    }
    result = absl::UnavailableError(absl::StrCat("port-forward to port ", port, " in ",
                                                 netns_path.empty() ? "the host network" : netns_path,
                                                 " failed (", tried, ")"));
  }).join();
  return result;
}

void CopyBothWays(int a, int b) {
  bool open[2] = {true, true};  // [0]: a -> b, [1]: b -> a
  char buf[32 * 1024];
  while (open[0] || open[1]) {
    pollfd p[2] = {{a, static_cast<short>(open[0] ? POLLIN : 0), 0},
                   {b, static_cast<short>(open[1] ? POLLIN : 0), 0}};
    if (poll(p, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    for (int i = 0; i < 2; ++i) {
      if (!open[i] || p[i].revents == 0) continue;
      int from = i == 0 ? a : b, to = i == 0 ? b : a;
      ssize_t n = read(from, buf, sizeof(buf));
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n < 0) return;  // a reset: the other direction cannot be trusted either
      if (n == 0) {
        shutdown(to, SHUT_WR);
        open[i] = false;
        continue;
      }
      if (!SendAll(to, absl::string_view(buf, n), absl::Minutes(5))) return;
    }
  }
}

}  // namespace berth::cri
