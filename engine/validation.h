// Input validation for writes: everything that can be checked without the catalog or the
// record table, so that a bad request is refused with a message that says what is wrong
// before any byte is written.

#ifndef LOCI_ENGINE_VALIDATION_H_
#define LOCI_ENGINE_VALIDATION_H_

#include "loci/cube.h"
#include "loci/options.h"
#include "loci/status.h"
#include "loci/write_batch.h"

namespace loci::engine {

// OK or InvalidArgument naming the offending field of the draft.
Status ValidateDraft(const CubeDraft& draft, const Options& options);
// OK or InvalidArgument naming the offending field of the patch, or saying that it sets none.
Status ValidatePatch(const CubePatch& patch, const Options& options);
Status ValidateFieldDefinition(const WriteBatch::DefineFieldOp& op, const Options& options);
Status ValidateFieldDrop(const WriteBatch::DropFieldOp& op, const Options& options);
// Validates every operation of a batch (an update may not name its own cube as a parent); the
// message names the failing operation's index.
Status ValidateBatch(const WriteBatch& batch, const Options& options);

// Whether `batch` purges a cube (Db::Write then completes the erasure before it returns).
bool HasPurge(const WriteBatch& batch);

}  // namespace loci::engine

#endif  // LOCI_ENGINE_VALIDATION_H_
