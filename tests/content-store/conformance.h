// The conformance suite every ContentStore implementation passes (the local store, the
// metadata layer's namespaced wrapper, any future store). To run it against a store:
//
//   #include "tests/content-store/conformance.h"
//   INSTANTIATE_TEST_SUITE_P(Mine, berth::content::testing::ContentStoreConformance,
//       ::testing::Values(berth::content::testing::ContentStoreFactory{
//           "Mine", [](const std::string& root) -> absl::StatusOr<std::unique_ptr<ContentStore>> {
//             ...open a store whose state lives under `root`...
//           }}),
//       berth::content::testing::FactoryName);
//
// and link the target berth::content_store_conformance into the test.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "content-store/content_store.h"
#include "gtest/gtest.h"

namespace berth::content::testing {

struct ContentStoreFactory {
  std::string name;  // test-name suffix: [A-Za-z0-9_]
  // Opens a store keeping its state under `root` (an empty directory the first time). Called
  // again with the same root after the previous store object was destroyed, it must see the
  // committed blobs and in-progress ingests of before (resume tests).
  std::function<absl::StatusOr<std::unique_ptr<ContentStore>>(const std::string& root)> open;
};

class ContentStoreConformance : public ::testing::TestWithParam<ContentStoreFactory> {
 protected:
  void SetUp() override;
  void TearDown() override;
  // Destroys the store object and opens a new one on the same root.
  void Reopen();

  // Writes `data` under `ref` in chunks of `chunk` bytes and commits it with its digest.
  absl::Status WriteBlob(absl::string_view ref, absl::string_view data, size_t chunk = 4096);

  std::string root_;
  std::unique_ptr<ContentStore> store_;
};

std::string FactoryName(const ::testing::TestParamInfo<ContentStoreFactory>& info);

// Deterministic pseudo-random bytes.
std::string TestData(size_t size, uint32_t seed);

}  // namespace berth::content::testing
