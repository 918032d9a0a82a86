#include "common/sha256_pair.h"

#include <cpuid.h>
#include <immintrin.h>
#include <nettle/sha2.h>

#include <cstring>

namespace airlock {

namespace {

alignas(16) constexpr uint32_t kK[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define AIRLOCK_SHA_TARGET __attribute__((target("sha,sse4.1,ssse3")))

// The state as the round instructions hold it: ABEF and CDGH.
struct Lanes {
  __m128i abef, cdgh;
};

AIRLOCK_SHA_TARGET Lanes load(const uint32_t* s) {
  __m128i t = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s)), 0xB1);      // CDAB
  __m128i h = _mm_shuffle_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(s + 4)), 0x1B);  // EFGH
  return {_mm_alignr_epi8(t, h, 8), _mm_blend_epi16(h, t, 0xF0)};
}

AIRLOCK_SHA_TARGET void store(uint32_t* s, Lanes l) {
  __m128i t = _mm_shuffle_epi32(l.abef, 0x1B);
  __m128i h = _mm_shuffle_epi32(l.cdgh, 0xB1);
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s), _mm_blend_epi16(t, h, 0xF0));
  _mm_storeu_si128(reinterpret_cast<__m128i*>(s + 4), _mm_alignr_epi8(h, t, 8));
}

// `blocks` 64-byte blocks of a and of b into their states, interleaved.
AIRLOCK_SHA_TARGET void compress_pair(uint32_t* sa, const uint8_t* a, uint32_t* sb, const uint8_t* b, size_t blocks) {
  const __m128i swap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  Lanes A = load(sa), B = load(sb);
  for (; blocks > 0; --blocks, a += 64, b += 64) {
    const Lanes a0 = A, b0 = B;
    __m128i wa[4], wb[4];
#pragma GCC unroll 16
    for (int i = 0; i < 16; ++i) {
      if (i < 4) {
        wa[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 16 * i)), swap);
        wb[i] = _mm_shuffle_epi8(_mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 16 * i)), swap);
      } else {
        // W[i] from W[i-4], W[i-3], W[i-2], W[i-1] (four words each).
        __m128i ta = _mm_add_epi32(_mm_sha256msg1_epu32(wa[i & 3], wa[(i + 1) & 3]),
                                   _mm_alignr_epi8(wa[(i + 3) & 3], wa[(i + 2) & 3], 4));
        __m128i tb = _mm_add_epi32(_mm_sha256msg1_epu32(wb[i & 3], wb[(i + 1) & 3]),
                                   _mm_alignr_epi8(wb[(i + 3) & 3], wb[(i + 2) & 3], 4));
        wa[i & 3] = _mm_sha256msg2_epu32(ta, wa[(i + 3) & 3]);
        wb[i & 3] = _mm_sha256msg2_epu32(tb, wb[(i + 3) & 3]);
      }
      const __m128i k = _mm_load_si128(reinterpret_cast<const __m128i*>(&kK[4 * i]));
      __m128i xa = _mm_add_epi32(wa[i & 3], k), xb = _mm_add_epi32(wb[i & 3], k);
      A.cdgh = _mm_sha256rnds2_epu32(A.cdgh, A.abef, xa);
      B.cdgh = _mm_sha256rnds2_epu32(B.cdgh, B.abef, xb);
      xa = _mm_shuffle_epi32(xa, 0x0E);
      xb = _mm_shuffle_epi32(xb, 0x0E);
      A.abef = _mm_sha256rnds2_epu32(A.abef, A.cdgh, xa);
      B.abef = _mm_sha256rnds2_epu32(B.abef, B.cdgh, xb);
    }
    A.abef = _mm_add_epi32(A.abef, a0.abef);
    A.cdgh = _mm_add_epi32(A.cdgh, a0.cdgh);
    B.abef = _mm_add_epi32(B.abef, b0.abef);
    B.cdgh = _mm_add_epi32(B.cdgh, b0.cdgh);
  }
  store(sa, A);
  store(sb, B);
}

bool detect() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  bool ssse3 = c & bit_SSSE3, sse41 = c & bit_SSE4_1;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return false;
  return ssse3 && sse41 && (b & bit_SHA);
}

// One message being hashed in a lane.
struct Lane {
  std::span<const uint8_t> left;  // not hashed yet
  size_t index = 0;
  sha256_ctx ctx;
};

void start(Lane& l, std::span<const uint8_t> m, size_t index) {
  l.left = m;
  l.index = index;
  sha256_init(&l.ctx);
}

void finish(Lane& l, std::array<uint8_t, 32>& out) {
  sha256_update(&l.ctx, l.left.size(), l.left.data());
  sha256_digest(&l.ctx, out.size(), out.data());
}

}  // namespace

bool sha256_pairs_here() {
  static const bool yes = detect();
  return yes;
}

std::vector<std::array<uint8_t, 32>> sha256_each(std::span<const std::span<const uint8_t>> messages, bool pair) {
  std::vector<std::array<uint8_t, 32>> out(messages.size());
  if (!pair || !sha256_pairs_here() || messages.size() < 2) {
    for (size_t i = 0; i < messages.size(); ++i) {
      Lane l;
      start(l, messages[i], i);
      finish(l, out[i]);
    }
    return out;
  }
  // Two lanes; a lane whose message has less than a block left finishes it
  // alone (nettle) and takes the next message. Whole blocks of both lanes
  // go through the round instructions together.
  Lane lanes[2];
  size_t next = 0;
  bool busy[2] = {false, false};
  for (int k = 0; k < 2; ++k) {
    start(lanes[k], messages[next], next);
    ++next;
    busy[k] = true;
  }
  for (;;) {
    for (int k = 0; k < 2; ++k) {
      while (busy[k] && lanes[k].left.size() < 64) {
        finish(lanes[k], out[lanes[k].index]);
        busy[k] = next < messages.size();
        if (busy[k]) {
          start(lanes[k], messages[next], next);
          ++next;
        }
      }
    }
    if (!busy[0] || !busy[1]) break;
    size_t blocks = std::min(lanes[0].left.size(), lanes[1].left.size()) / 64;
    // nettle's state: the eight words, then the count of whole blocks
    // (nothing buffered: a lane only takes whole blocks until it finishes).
    compress_pair(lanes[0].ctx.state, lanes[0].left.data(), lanes[1].ctx.state, lanes[1].left.data(), blocks);
    for (Lane& l : lanes) {
      l.ctx.count += blocks;
      l.left = l.left.subspan(blocks * 64);
    }
  }
  for (int k = 0; k < 2; ++k)
    if (busy[k]) finish(lanes[k], out[lanes[k].index]);
  return out;
}

}  // namespace airlock
