// TaskService over a fake Runtime whose "containers" are real child processes, so exits go
// through the real Reaper (subreaper, SIGCHLD) exactly as in the shim.
#include "shim-v2/shim/service.h"

#include <signal.h>
#include <unistd.h>

#include <thread>

#include "containerd/runtime/v2/task/shim.pb.h"
#include "gtest/gtest.h"
#include "shim-v2/shim/reaper.h"

namespace berth::shim {
namespace {
namespace task = ::containerd::task::v2;

// Init: a child blocked on a pipe until Start, then exits with `init_code` (or sleeps until
// killed when init_code < 0). Exec: a child that exits with the code in process_json.
class FakeRuntime : public Runtime {
 public:
  // deleted: owned by the test (the service destroys its runtime with the container).
  FakeRuntime(int init_code, bool* deleted) : init_code_(init_code), deleted_(deleted) {}
  absl::StatusOr<Created> Create(const CreateOptions& opts) override {
    int p[2];
    if (pipe(p) != 0) return absl::InternalError("pipe");
    pid_t pid = fork();
    if (pid == 0) {
      close(p[1]);
      char c;
      if (read(p[0], &c, 1) != 1) _exit(99);
      if (init_code_ >= 0) _exit(init_code_);
      while (true) pause();
    }
    close(p[0]);
    start_fd_ = p[1];
    init_ = pid;
    return Created{pid, ""};
  }
  absl::Status Start(const std::string&) override {
    if (write(start_fd_, "x", 1) != 1) return absl::InternalError("start");
    close(start_fd_);
    return absl::OkStatus();
  }
  absl::StatusOr<pid_t> Exec(const ExecOptions& opts) override {
    int code = std::stoi(opts.process_json);
    pid_t pid = fork();
    if (pid == 0) _exit(code);
    return pid;
  }
  absl::Status Kill(const std::string&, int sig, bool) override {
    return kill(init_, sig) == 0 ? absl::OkStatus() : absl::NotFoundError("gone");
  }
  absl::Status Delete(const std::string&, bool) override {
    *deleted_ = true;
    return absl::OkStatus();
  }
  absl::Status Pause(const std::string&) override { return absl::OkStatus(); }
  absl::Status Resume(const std::string&) override { return absl::OkStatus(); }
  absl::StatusOr<std::vector<pid_t>> Ps(const std::string&) override {
    return std::vector<pid_t>{init_};
  }
  absl::Status Update(const std::string&, const std::string&) override {
    return absl::OkStatus();
  }
  int init_code_;
  int start_fd_ = -1;
  pid_t init_ = 0;
  bool* deleted_;
};

class ReaperEnv : public ::testing::Environment {
 public:
  void SetUp() override { ASSERT_TRUE(Reaper::Get().Start().ok()); }
};
const auto* const kEnv = ::testing::AddGlobalTestEnvironment(new ReaperEnv);

class ServiceTest : public ::testing::Test {
 protected:
  void Make(int init_code) {
    publisher_ = std::make_unique<Publisher>("", "test");
    service_ = std::make_unique<TaskService>(
        "test", publisher_.get(),
        [this, init_code](const std::string&, const std::string&, const std::string&) {
          auto rt = std::make_unique<FakeRuntime>(init_code, &deleted_);
          runtime_ = rt.get();
          return rt;
        },
        [this] { shutdown_called_ = true; }, [this] { ++tasks_started_; });
  }
  template <typename Resp, typename Req>
  absl::StatusOr<Resp> Call(const std::string& method, const Req& req,
                            absl::Duration timeout = absl::InfiniteDuration()) {
    ttrpc::CallContext ctx;
    if (timeout != absl::InfiniteDuration()) ctx.deadline = absl::Now() + timeout;
    auto out = service_->Handle(method, ctx, req.SerializeAsString());
    if (!out.ok()) return out.status();
    Resp resp;
    if (!resp.ParseFromString(*out)) return absl::InternalError("bad response");
    return resp;
  }
  absl::Status Create(const std::string& id) {
    task::CreateTaskRequest req;
    req.set_id(id);
    req.set_bundle(::testing::TempDir());
    return Call<task::CreateTaskResponse>("Create", req).status();
  }
  int StatusOf(const std::string& id, const std::string& exec_id = "") {
    task::StateRequest req;
    req.set_id(id);
    req.set_exec_id(exec_id);
    auto r = Call<task::StateResponse>("State", req);
    return r.ok() ? static_cast<int>(r->status()) : -1;
  }

  std::unique_ptr<Publisher> publisher_;
  std::unique_ptr<TaskService> service_;
  FakeRuntime* runtime_ = nullptr;  // valid until the container is deleted
  bool deleted_ = false;
  bool shutdown_called_ = false;
  int tasks_started_ = 0;  // on_started calls: the shim releases create's pages on each
};

TEST_F(ServiceTest, LifecycleCreateStartWaitDelete) {
  Make(7);
  ASSERT_TRUE(Create("c1").ok());
  EXPECT_EQ(Create("c1").code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusOf("c1"), 1);  // CREATED
  EXPECT_EQ(tasks_started_, 0);
  task::StartRequest start;
  start.set_id("c1");
  auto started = Call<task::StartResponse>("Start", start);
  ASSERT_TRUE(started.ok()) << started.status();
  EXPECT_EQ(static_cast<pid_t>(started->pid()), runtime_->init_);
  EXPECT_EQ(tasks_started_, 1);
  EXPECT_FALSE(Call<task::StartResponse>("Start", start).ok());  // started once only
  EXPECT_EQ(tasks_started_, 1);
  task::WaitRequest wait;
  wait.set_id("c1");
  auto waited = Call<task::WaitResponse>("Wait", wait, absl::Seconds(10));
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->exit_status(), 7u);
  EXPECT_GT(waited->exited_at().seconds(), 0);
  EXPECT_EQ(StatusOf("c1"), 3);  // STOPPED
  task::DeleteRequest del;
  del.set_id("c1");
  auto deleted = Call<task::DeleteResponse>("Delete", del);
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_EQ(deleted->exit_status(), 7u);
  EXPECT_TRUE(deleted_);
  EXPECT_EQ(StatusOf("c1"), -1);  // gone
  task::ShutdownRequest sd;
  ASSERT_TRUE(Call<google::protobuf::Empty>("Shutdown", sd).ok());
  EXPECT_TRUE(shutdown_called_);
}

TEST_F(ServiceTest, WaitHonoursDeadlineAndKillEndsIt) {
  Make(-1);
  ASSERT_TRUE(Create("c2").ok());
  task::StartRequest start;
  start.set_id("c2");
  ASSERT_TRUE(Call<task::StartResponse>("Start", start).ok());
  task::WaitRequest wait;
  wait.set_id("c2");
  EXPECT_EQ(Call<task::WaitResponse>("Wait", wait, absl::Milliseconds(100)).status().code(),
            absl::StatusCode::kDeadlineExceeded);
  // A running task cannot be deleted; Shutdown without `now` keeps serving.
  task::DeleteRequest del;
  del.set_id("c2");
  EXPECT_EQ(Call<task::DeleteResponse>("Delete", del).status().code(),
            absl::StatusCode::kFailedPrecondition);
  task::ShutdownRequest sd;
  ASSERT_TRUE(Call<google::protobuf::Empty>("Shutdown", sd).ok());
  EXPECT_FALSE(shutdown_called_);
  // Wait blocks in one thread while Kill runs in another.
  absl::StatusOr<task::WaitResponse> waited;
  std::thread t([&] { waited = Call<task::WaitResponse>("Wait", wait, absl::Seconds(10)); });
  task::KillRequest k;
  k.set_id("c2");
  k.set_signal(SIGKILL);
  ASSERT_TRUE(Call<google::protobuf::Empty>("Kill", k).ok());
  t.join();
  ASSERT_TRUE(waited.ok()) << waited.status();
  EXPECT_EQ(waited->exit_status(), 137u);
  EXPECT_EQ(Call<google::protobuf::Empty>("Kill", k).status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ServiceTest, ExecProcesses) {
  Make(-1);
  ASSERT_TRUE(Create("c3").ok());
  task::StartRequest start;
  start.set_id("c3");
  ASSERT_TRUE(Call<task::StartResponse>("Start", start).ok());
  task::ExecProcessRequest ex;
  ex.set_id("c3");
  ex.set_exec_id("e1");
  ex.mutable_spec()->set_value("5");
  ASSERT_TRUE(Call<google::protobuf::Empty>("Exec", ex).ok());
  EXPECT_EQ(Call<google::protobuf::Empty>("Exec", ex).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(StatusOf("c3", "e1"), 1);
  task::StartRequest s;
  s.set_id("c3");
  s.set_exec_id("e1");
  ASSERT_TRUE(Call<task::StartResponse>("Start", s).ok());
  EXPECT_EQ(tasks_started_, 1);  // the task's, not the exec's
  task::WaitRequest w;
  w.set_id("c3");
  w.set_exec_id("e1");
  auto waited = Call<task::WaitResponse>("Wait", w, absl::Seconds(10));
  ASSERT_TRUE(waited.ok());
  EXPECT_EQ(waited->exit_status(), 5u);
  task::DeleteRequest d;
  d.set_id("c3");
  d.set_exec_id("e1");
  ASSERT_TRUE(Call<task::DeleteResponse>("Delete", d).ok());
  EXPECT_EQ(StatusOf("c3", "e1"), -1);
  task::PidsRequest pr;
  pr.set_id("c3");
  auto pids = Call<task::PidsResponse>("Pids", pr);
  ASSERT_TRUE(pids.ok());
  ASSERT_EQ(pids->processes_size(), 1);
  task::CheckpointTaskRequest cp;
  cp.set_id("c3");
  EXPECT_EQ(Call<google::protobuf::Empty>("Checkpoint", cp).status().code(),
            absl::StatusCode::kUnimplemented);
  task::ConnectRequest cr;
  cr.set_id("c3");
  auto conn = Call<task::ConnectResponse>("Connect", cr);
  ASSERT_TRUE(conn.ok());
  EXPECT_EQ(static_cast<pid_t>(conn->shim_pid()), getpid());
  EXPECT_EQ(static_cast<pid_t>(conn->task_pid()), runtime_->init_);
  // The exit is handled on a thread that uses the service: wait for it before tear-down.
  kill(runtime_->init_, SIGKILL);
  task::WaitRequest wi;
  wi.set_id("c3");
  auto init_exit = Call<task::WaitResponse>("Wait", wi, absl::Seconds(10));
  ASSERT_TRUE(init_exit.ok());
  EXPECT_EQ(init_exit->exit_status(), 137u);
}

TEST_F(ServiceTest, UnknownContainerIsNotFound) {
  Make(0);
  task::StateRequest req;
  req.set_id("nope");
  EXPECT_EQ(Call<task::StateResponse>("State", req).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(service_->Handle("Create", {}, "\xff\xff").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::shim
