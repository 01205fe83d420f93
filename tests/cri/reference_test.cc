#include "cri/reference.h"

#include "gtest/gtest.h"

namespace berth::cri {
namespace {

TEST(Reference, NormalisesLikeKubelet) {
  EXPECT_EQ(*NormalizeReference("busybox"), "docker.io/library/busybox:latest");
  EXPECT_EQ(*NormalizeReference("busybox:1.36"), "docker.io/library/busybox:1.36");
  EXPECT_EQ(*NormalizeReference("foo/bar"), "docker.io/foo/bar:latest");
  EXPECT_EQ(*NormalizeReference("quay.io/foo/bar:v1"), "quay.io/foo/bar:v1");
  EXPECT_EQ(*NormalizeReference("localhost:5000/x"), "localhost:5000/x:latest");
  EXPECT_EQ(*NormalizeReference("index.docker.io/library/busybox"), "docker.io/library/busybox:latest");
  std::string d = "sha256:" + std::string(64, 'a');
  EXPECT_EQ(*NormalizeReference("busybox@" + d), "docker.io/library/busybox@" + d);
}

TEST(Reference, RejectsBadInput) {
  EXPECT_FALSE(NormalizeReference("").ok());
  EXPECT_FALSE(NormalizeReference("Busybox").ok());
  EXPECT_FALSE(NormalizeReference("busybox@sha256:abc").ok());
  EXPECT_FALSE(NormalizeReference("busybox:").ok());
}

TEST(Reference, ImageIds) {
  EXPECT_TRUE(IsImageId(std::string(64, 'f')));
  EXPECT_TRUE(IsImageId("sha256:" + std::string(64, '0')));
  EXPECT_FALSE(IsImageId("busybox"));
  EXPECT_FALSE(IsImageId(std::string(63, 'f')));
}

}  // namespace
}  // namespace berth::cri
