// The instruction generator (pure, unit tested); loading and attaching are in
// device_filter_linux.cc.
#include <climits>
#include <cstdint>

#include "absl/strings/str_cat.h"
#include "executor/device_filter.h"

namespace berth::executor {
namespace {

bpf_insn Insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
  bpf_insn i{};
  i.code = code;
  i.dst_reg = dst;
  i.src_reg = src;
  i.off = off;
  i.imm = imm;
  return i;
}

constexpr int16_t kNext = -1;  // placeholder: "jump to the next rule's block", patched below

absl::StatusOr<int32_t> Number(const std::optional<int64_t>& v, const char* what) {
  if (!v || *v < 0) return -1;
  if (*v > INT32_MAX) return absl::InvalidArgumentError(absl::StrCat("device ", what, " ", *v));
  return static_cast<int32_t>(*v);
}

// One rule: a block of tests that jump to the next block on mismatch, then "return allow".
absl::StatusOr<std::vector<bpf_insn>> RuleBlock(const DeviceRule& rule) {
  std::vector<bpf_insn> b;
  if (rule.type == "c" || rule.type == "b") {
    int32_t t = rule.type == "c" ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
    b.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, kNext, t));
  } else if (rule.type != "a") {
    return absl::InvalidArgumentError("device type " + rule.type);
  }
  int32_t access = 0;
  for (char c : rule.access) {
    switch (c) {
      case 'r': access |= BPF_DEVCG_ACC_READ; break;
      case 'w': access |= BPF_DEVCG_ACC_WRITE; break;
      case 'm': access |= BPF_DEVCG_ACC_MKNOD; break;
      default: return absl::InvalidArgumentError("device access " + rule.access);
    }
  }
  if (access != (BPF_DEVCG_ACC_READ | BPF_DEVCG_ACC_WRITE | BPF_DEVCG_ACC_MKNOD)) {
    // if ((R3 & access) != R3) next: the request asks for more than the rule names.
    b.push_back(Insn(BPF_ALU | BPF_MOV | BPF_X, BPF_REG_1, BPF_REG_3, 0, 0));
    b.push_back(Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_1, 0, 0, access));
    b.push_back(Insn(BPF_JMP | BPF_JNE | BPF_X, BPF_REG_1, BPF_REG_3, kNext, 0));
  }
  auto major = Number(rule.major, "major");
  if (!major.ok()) return major.status();
  auto minor = Number(rule.minor, "minor");
  if (!minor.ok()) return minor.status();
  if (*major >= 0) b.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, kNext, *major));
  if (*minor >= 0) b.push_back(Insn(BPF_JMP | BPF_JNE | BPF_K, BPF_REG_5, 0, kNext, *minor));
  b.push_back(Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, rule.allow ? 1 : 0));
  b.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  // Jump offsets count from the instruction after the jump.
  int n = static_cast<int>(b.size());
  for (int i = 0; i < n; ++i) {
    if (BPF_CLASS(b[i].code) == BPF_JMP && BPF_OP(b[i].code) == BPF_JNE) {
      b[i].off = static_cast<int16_t>(n - i - 1);
    }
  }
  return b;
}

}  // namespace

absl::StatusOr<std::vector<bpf_insn>> DeviceFilterProgram(const std::vector<DeviceRule>& rules) {
  std::vector<bpf_insn> p = {
      // R2 = type (low 16 bits of ctx->access_type), R3 = access (high 16 bits)
      Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1, 0, 0),
      Insn(BPF_ALU | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xFFFF),
      Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1, 0, 0),
      Insn(BPF_ALU | BPF_RSH | BPF_K, BPF_REG_3, 0, 0, 16),
      // R4 = ctx->major, R5 = ctx->minor
      Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1, 4, 0),
      Insn(BPF_LDX | BPF_MEM | BPF_W, BPF_REG_5, BPF_REG_1, 8, 0),
  };
  // Last match wins: the blocks test the rules from the last one back.
  for (auto it = rules.rbegin(); it != rules.rend(); ++it) {
    auto block = RuleBlock(*it);
    if (!block.ok()) return block.status();
    p.insert(p.end(), block->begin(), block->end());
    // A rule that matches everything ("a *:* rwm") ends the program: the verifier rejects
    // unreachable instructions.
    if (block->size() == 2) return p;
  }
  p.push_back(Insn(BPF_ALU | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0));  // no rule matched: deny
  p.push_back(Insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0));
  return p;
}

}  // namespace berth::executor
