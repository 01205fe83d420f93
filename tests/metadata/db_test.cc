#include "plugins/metadata/db.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/status_macros.h"
#include "tests/metadata/temp_db.h"

namespace berth::metadata {
namespace {

using DbTest = TempDbTest;

TEST_F(DbTest, UpdateCommitsAtomicallyAndPersists) {
  ASSERT_TRUE(db_->Update([](Txn& txn) {
    txn.Put("ns/a/images/x", "1");
    txn.Put("ns/a/images/y", "2");
    return absl::OkStatus();
  }).ok());
  // A failing transaction leaves nothing behind.
  auto failed = db_->Update([](Txn& txn) {
    txn.Put("ns/a/images/z", "3");
    return absl::AbortedError("no");
  });
  EXPECT_EQ(failed.code(), absl::StatusCode::kAborted);
  Reopen();
  std::vector<std::string> keys;
  ASSERT_TRUE(db_->View([&](const Reader& r) {
    return r.Scan("ns/a/images/", [&](absl::string_view k, absl::string_view) {
      keys.emplace_back(k);
      return true;
    });
  }).ok());
  EXPECT_EQ(keys, (std::vector<std::string>{"ns/a/images/x", "ns/a/images/y"}));
}

// An unsynced commit is in the operating system's hands at once: readers see it, and a daemon
// killed right after it does not lose it (only a crash of the machine can, before the next
// synced commit).
TEST_F(DbTest, UnsyncedCommitSurvivesAKilledProcess) {
  db_.reset();
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto db = Db::Open(dir_ + "/db");
    if (!db.ok()) _exit(2);
    absl::Status st = (*db)->Update(
        [](Txn& txn) {
          txn.Put("ns/a/leases/l1", "x");
          return absl::OkStatus();
        },
        Durability::kNextSync);
    if (!st.ok()) _exit(3);
    bool seen = false;
    (void)(*db)->View([&](const Reader& r) -> absl::Status {
      BERTH_ASSIGN_OR_RETURN(auto v, r.Get("ns/a/leases/l1"));
      seen = v.has_value();
      return absl::OkStatus();
    });
    if (!seen) _exit(4);
    kill(getpid(), SIGKILL);  // no close, no flush of ours
    _exit(5);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  Reopen();
  std::optional<std::string> got;
  ASSERT_TRUE(db_->View([&](const Reader& r) -> absl::Status {
    BERTH_ASSIGN_OR_RETURN(got, r.Get("ns/a/leases/l1"));
    return absl::OkStatus();
  }).ok());
  EXPECT_EQ(got, std::optional<std::string>("x"));
}

TEST_F(DbTest, TransactionReadsItsOwnWrites) {
  ASSERT_TRUE(db_->Update([](Txn& txn) -> absl::Status {
    txn.Put("k1", "v1");
    BERTH_ASSIGN_OR_RETURN(auto v, txn.Get("k1"));
    EXPECT_EQ(v.value_or(""), "v1");
    txn.Put("p/1", "a");
    txn.Put("p/2", "b");
    BERTH_RETURN_IF_ERROR(txn.DeletePrefix("p/"));
    BERTH_ASSIGN_OR_RETURN(bool any, txn.HasPrefix("p/"));
    EXPECT_FALSE(any);
    return absl::OkStatus();
  }).ok());
}

TEST_F(DbTest, CommitHooksRunAfterSuccessOnly) {
  int calls = 0;
  db_->OnCommit([&] { ++calls; });
  ASSERT_TRUE(db_->Update([](Txn& txn) {
    txn.Put("a", "b");
    return absl::OkStatus();
  }).ok());
  EXPECT_FALSE(db_->Update([](Txn&) { return absl::InternalError("x"); }).ok());
  EXPECT_EQ(calls, 1);
}

TEST_F(DbTest, RefusesNewerSchema) {
  ASSERT_TRUE(db_->Update([](Txn& txn) {
    txn.Put("meta/schema", "99");
    return absl::OkStatus();
  }).ok());
  db_.reset();
  auto again = Db::Open(dir_ + "/db");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace berth::metadata
