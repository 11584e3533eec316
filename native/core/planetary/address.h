// Yggdrasil key ↔ address mapping (spec §2.2–2.5). Mirrors src/keys/planetary.ts (addressBytesForKey,
// subnetBytesForKey) so the C++ and TypeScript sides agree bit for bit.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "types.h"

namespace gw::planetary {

using Address = std::array<uint8_t, 16>;
using Subnet = std::array<uint8_t, 8>;

Address address_for_key(const Key& key);
Subnet subnet_for_key(const Key& key);
// Inverse of address_for_key for a 16-byte address or an 8-byte subnet prefix (len ≤ 16; missing bytes
// count as zero). Bits the prefix does not determine come out as 1, so the result is a "partial key".
Key partial_key_for_prefix(const uint8_t* prefix, size_t len);
// yggdrasil's bloom transform: the partial key of the key's own /64. Keys are the same lookup target
// iff their transforms are equal.
Key bloom_transform(const Key& key);

}  // namespace gw::planetary
