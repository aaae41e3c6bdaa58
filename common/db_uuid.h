// DbUuid: the random identity of a database, written into every file header (superblock, WAL
// segments, arena generations, checkpoints) so a file from another database is never taken
// for one of this one's.

#ifndef LOCI_COMMON_DB_UUID_H_
#define LOCI_COMMON_DB_UUID_H_

#include <array>
#include <cstdint>

namespace loci {

using DbUuid = std::array<uint8_t, 16>;

}  // namespace loci

#endif  // LOCI_COMMON_DB_UUID_H_
