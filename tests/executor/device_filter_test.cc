#include "executor/device_filter.h"

#include <cstring>

#include "gtest/gtest.h"

namespace berth::executor {
namespace {

constexpr uint8_t kJneK = BPF_JMP | BPF_JNE | BPF_K;
constexpr uint8_t kJneX = BPF_JMP | BPF_JNE | BPF_X;
constexpr uint8_t kMovK = BPF_ALU | BPF_MOV | BPF_K;
constexpr uint8_t kExit = BPF_JMP | BPF_EXIT;

// Runs the subset of eBPF the generator emits against one bpf_cgroup_dev_ctx.
// Returns R0, or -1 on an instruction outside the subset / a jump out of the program.
int Eval(const std::vector<bpf_insn>& p, int type, int access, uint32_t major, uint32_t minor) {
  uint32_t ctx[3] = {static_cast<uint32_t>(type | (access << 16)), major, minor};
  uint64_t r[11] = {};
  for (size_t pc = 0; pc < p.size(); ++pc) {
    const bpf_insn& i = p[pc];
    switch (i.code) {
      case BPF_LDX | BPF_MEM | BPF_W:
        if (i.src_reg != BPF_REG_1 || i.off % 4 != 0 || i.off > 8) return -1;
        r[i.dst_reg] = ctx[i.off / 4];
        break;
      case BPF_ALU | BPF_AND | BPF_K: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg] & i.imm); break;
      case BPF_ALU | BPF_RSH | BPF_K: r[i.dst_reg] = static_cast<uint32_t>(r[i.dst_reg]) >> i.imm; break;
      case BPF_ALU | BPF_MOV | BPF_X: r[i.dst_reg] = static_cast<uint32_t>(r[i.src_reg]); break;
      case kMovK: r[i.dst_reg] = static_cast<uint32_t>(i.imm); break;
      case kJneK:
        if (r[i.dst_reg] != static_cast<uint64_t>(static_cast<int64_t>(i.imm))) pc += i.off;
        break;
      case kJneX:
        if (r[i.dst_reg] != r[i.src_reg]) pc += i.off;
        break;
      case kExit: return static_cast<int>(r[0]);
      default: return -1;
    }
    if (pc + 1 > p.size()) return -1;
  }
  return -1;  // fell off the end
}

constexpr int C = BPF_DEVCG_DEV_CHAR, B = BPF_DEVCG_DEV_BLOCK;
constexpr int R = BPF_DEVCG_ACC_READ, W = BPF_DEVCG_ACC_WRITE, M = BPF_DEVCG_ACC_MKNOD;

DeviceRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                std::optional<int64_t> minor, std::string access) {
  return {allow, std::move(type), major, minor, std::move(access)};
}

TEST(DeviceFilterTest, PrologueLoadsTheContextThenDefaultDeny) {
  auto p = DeviceFilterProgram({});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 8u);
  EXPECT_EQ((*p)[0].code, BPF_LDX | BPF_MEM | BPF_W);  // R2 = access_type
  EXPECT_EQ((*p)[1].imm, 0xFFFF);                       // R2 &= 0xffff (type)
  EXPECT_EQ((*p)[3].code, BPF_ALU | BPF_RSH | BPF_K);   // R3 >>= 16 (access)
  EXPECT_EQ((*p)[3].imm, 16);
  EXPECT_EQ((*p)[4].off, 4);                            // R4 = major
  EXPECT_EQ((*p)[5].off, 8);                            // R5 = minor
  EXPECT_EQ((*p)[6].code, kMovK);
  EXPECT_EQ((*p)[6].imm, 0);
  EXPECT_EQ((*p)[7].code, kExit);
  EXPECT_EQ(Eval(*p, C, R, 1, 3), 0);
}

TEST(DeviceFilterTest, OneRuleBlockInstructionByInstruction) {
  // c 1:3 rw: type test, access test (3 insns), major, minor, return 1.
  auto p = DeviceFilterProgram({Rule(true, "c", 1, 3, "rw")});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 6u + 8u + 2u);
  const bpf_insn* b = p->data() + 6;
  EXPECT_EQ(b[0].code, kJneK);
  EXPECT_EQ(b[0].dst_reg, BPF_REG_2);
  EXPECT_EQ(b[0].imm, C);
  EXPECT_EQ(b[0].off, 7);  // to the default block
  EXPECT_EQ(b[1].code, BPF_ALU | BPF_MOV | BPF_X);
  EXPECT_EQ(b[2].imm, R | W);
  EXPECT_EQ(b[3].code, kJneX);
  EXPECT_EQ(b[3].off, 4);
  EXPECT_EQ(b[4].dst_reg, BPF_REG_4);
  EXPECT_EQ(b[4].imm, 1);
  EXPECT_EQ(b[5].dst_reg, BPF_REG_5);
  EXPECT_EQ(b[5].imm, 3);
  EXPECT_EQ(b[5].off, 2);
  EXPECT_EQ(b[6].code, kMovK);
  EXPECT_EQ(b[6].imm, 1);
  EXPECT_EQ(b[7].code, kExit);
  EXPECT_EQ(Eval(*p, C, R, 1, 3), 1);
  EXPECT_EQ(Eval(*p, C, R | W, 1, 3), 1);
  EXPECT_EQ(Eval(*p, C, M, 1, 3), 0);      // mknod not named
  EXPECT_EQ(Eval(*p, C, R | M, 1, 3), 0);  // more than the rule names
  EXPECT_EQ(Eval(*p, B, R, 1, 3), 0);
  EXPECT_EQ(Eval(*p, C, R, 1, 5), 0);
}

TEST(DeviceFilterTest, RwmAndWildcardsSkipTheirTests) {
  auto p = DeviceFilterProgram({Rule(true, "c", 136, std::nullopt, "rwm")});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 6u + 4u + 2u);  // type, major, mov, exit
  EXPECT_EQ(Eval(*p, C, R | W | M, 136, 7), 1);
  EXPECT_EQ(Eval(*p, C, R, 137, 7), 0);
  auto minus_one = DeviceFilterProgram({Rule(true, "b", -1, -1, "rwm")});
  ASSERT_TRUE(minus_one.ok());
  EXPECT_EQ(minus_one->size(), 6u + 3u + 2u);
  EXPECT_EQ(Eval(*minus_one, B, W, 8, 0), 1);
  EXPECT_EQ(Eval(*minus_one, C, W, 8, 0), 0);
}

TEST(DeviceFilterTest, LastMatchWins) {
  // runc spec's list: deny all, then allows; then a later deny of /dev/null writes.
  std::vector<DeviceRule> rules = {Rule(false, "a", std::nullopt, std::nullopt, "rwm"),
                                   Rule(true, "c", 1, 3, "rwm"), Rule(true, "c", 1, 5, "rwm"),
                                   Rule(false, "c", 1, 3, "w")};
  auto p = DeviceFilterProgram(rules);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Eval(*p, C, W, 1, 3), 0);  // the last rule
  EXPECT_EQ(Eval(*p, C, R, 1, 3), 1);  // the deny names w only: the allow before it decides
  EXPECT_EQ(Eval(*p, C, W, 1, 5), 1);
  EXPECT_EQ(Eval(*p, C, R, 1, 7), 0);  // deny all
  EXPECT_EQ(Eval(*p, B, M, 8, 0), 0);
  // Reversed: the allow of c 1:3 now comes last and wins over the deny.
  std::swap(rules[1], rules[3]);
  p = DeviceFilterProgram(rules);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(Eval(*p, C, W, 1, 3), 1);
}

TEST(DeviceFilterTest, AllowAllEndsTheProgram) {
  // Nothing may follow an unconditional return: the verifier rejects unreachable code.
  auto p = DeviceFilterProgram({Rule(false, "c", 1, 3, "rwm"),
                                Rule(true, "a", std::nullopt, std::nullopt, "rwm")});
  ASSERT_TRUE(p.ok());
  ASSERT_EQ(p->size(), 8u);
  EXPECT_EQ((*p)[6].imm, 1);
  EXPECT_EQ(Eval(*p, C, W, 1, 3), 1);
  auto deny_all_last = DeviceFilterProgram({Rule(true, "c", 1, 3, "rwm"),
                                            Rule(false, "a", -1, -1, "rwm")});
  ASSERT_TRUE(deny_all_last.ok());
  EXPECT_EQ(deny_all_last->size(), 8u);
  EXPECT_EQ(Eval(*deny_all_last, C, R, 1, 3), 0);
}

TEST(DeviceFilterTest, RejectsBadRules) {
  EXPECT_EQ(DeviceFilterProgram({Rule(true, "u", 1, 3, "rwm")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DeviceFilterProgram({Rule(true, "c", 1, 3, "rx")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(DeviceFilterProgram({Rule(true, "c", 1ll << 32, 3, "r")}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace berth::executor
