// SHA-256 of several whole messages, two at a time where the CPU has the
// SHA extensions: the SHA-NI round instruction waits on the one before it,
// so one message leaves most of its throughput unused, and a second one
// interleaved with it runs nearly for free (1.56-1.65 times nettle's speed
// on one message, on this project's 2-vCPU AMD EPYC machines). Without the
// extensions, or for what is left of a message when its partner has
// ended, nettle hashes as Sha256 does. The digests are those of Sha256.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace airlock {

// The SHA-256 of each message, in order. `pair` false: one at a time
// (tests compare the two ways).
std::vector<std::array<uint8_t, 32>> sha256_each(std::span<const std::span<const uint8_t>> messages,
                                                 bool pair = true);

// Whether this CPU has what sha256_each pairs with (SHA, SSSE3, SSE4.1).
bool sha256_pairs_here();

}  // namespace airlock
