// libFuzzer target: checkpoint file loading over arbitrary bytes (in an in-memory Env). Must
// return OK or Corruption, never crash or allocate without bound.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "engine/checkpoint.h"
#include "loci/env.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<loci::Env> env = loci::NewMemEnv();
  std::unique_ptr<loci::WritableFile> file;
  if (!env->NewWritableFile("/ckpt", loci::Env::OpenMode::kCreateOrOpen, &file).ok()) return 0;
  if (!file->Truncate(0).ok()) return 0;
  if (size > 0 &&
      !file->Write(0, std::string_view(reinterpret_cast<const char*>(data), size)).ok()) {
    return 0;
  }
  loci::DbUuid uuid{};
  if (size >= 28) std::copy(data + 12, data + 28, uuid.begin());  // let the fuzzer match it
  uint64_t number = 0;
  if (size >= 36) std::memcpy(&number, data + 28, 8);
  loci::engine::CheckpointContents contents;
  loci::engine::CheckpointVisitor visitor;
  visitor.on_version = [](std::unique_ptr<loci::engine::Version>) { return loci::Status::OK(); };
  visitor.on_edge = [](std::unique_ptr<loci::index::EdgeVersion>) { return loci::Status::OK(); };
  visitor.on_chain_start = [](uint64_t, uint32_t) { return loci::Status::OK(); };
  loci::Status s =
      loci::engine::ReadCheckpoint(env.get(), "/ckpt", uuid, number, size, visitor, &contents);
  if (!s.ok() && !s.IsCorruption()) __builtin_trap();
  return 0;
}
