// A metadata database in a fresh temporary directory, removed at the end of the test.
#pragma once

#include <stdlib.h>

#include <memory>
#include <string>

#include "core/fs.h"
#include "gtest/gtest.h"
#include "plugins/metadata/db.h"

namespace berth::metadata {

class TempDbTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-meta-test.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    Reopen();
  }
  void TearDown() override {
    db_.reset();
    ASSERT_TRUE(fs::RemoveAll(dir_).ok());
  }
  void Reopen() {
    db_.reset();
    auto db = Db::Open(dir_ + "/db");
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
  }
  std::string dir_;
  std::unique_ptr<Db> db_;
};

}  // namespace berth::metadata
