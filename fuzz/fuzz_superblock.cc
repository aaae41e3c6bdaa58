// libFuzzer target: superblock slot decoding. A slot that decodes must re-encode identically.

#include <cstddef>
#include <cstdint>
#include <string>

#include "engine/superblock.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view slot(reinterpret_cast<const char*>(data), size);
  loci::engine::Superblock sb;
  if (!loci::engine::DecodeSuperblockSlot(slot, &sb).ok()) return 0;
  std::string again;
  if (!loci::engine::EncodeSuperblockSlot(sb, &again).ok()) __builtin_trap();
  loci::engine::Superblock round;
  if (!loci::engine::DecodeSuperblockSlot(again, &round).ok() || !(round == sb)) __builtin_trap();
  return 0;
}
