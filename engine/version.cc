// Version comparison.

#include "engine/version.h"

namespace loci::engine {

bool Version::SameContent(const Version& o) const {
  return id == o.id && number == o.number && space_id == o.space_id && kind == o.kind &&
         state == o.state && valid_from == o.valid_from && valid_to == o.valid_to &&
         tx_from == o.tx_from && expires_at == o.expires_at && lsn == o.lsn &&
         importance == o.importance && trust == o.trust && payload == o.payload &&
         vectors == o.vectors && attrs == o.attrs && source == o.source && agent == o.agent &&
         parents == o.parents;
}

}  // namespace loci::engine
