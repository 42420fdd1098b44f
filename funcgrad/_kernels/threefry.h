/* Threefry-2x32-20 (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"), the
   random_bits primitive's generator: funcgrad.primitives.threefry_2x32 is the reference this
   must match bit for bit. Counter c is hashed as the block (c, 0) under the key; the loops
   over counters have no dependence between elements, and GCC vectorizes them (the rotations
   become vprold with AVX-512). */
#ifndef FUNCGRAD_THREEFRY_H
#define FUNCGRAD_THREEFRY_H

#include <stdint.h>

#define FG_ROTL32(x, r) (((x) << (r)) | ((x) >> (32 - (r))))
#define FG_THREEFRY_ROUND(r) x0 += x1; x1 = FG_ROTL32(x1, r) ^ x0;
/* 4 rounds with rotations a-d, then key injection number s (words ks[s % 3], ks[(s+1) % 3]) */
#define FG_THREEFRY_GROUP(a, b, c, d, s)                                                    \
    FG_THREEFRY_ROUND(a) FG_THREEFRY_ROUND(b) FG_THREEFRY_ROUND(c) FG_THREEFRY_ROUND(d)     \
    x0 += ks[(s) % 3]; x1 += ks[((s) + 1) % 3] + (s);

/* Both words of the hash of block (c, 0) */
#define FG_THREEFRY(c)                                                                      \
    uint32_t x0 = (c) + ks[0], x1 = ks[1];                                                  \
    FG_THREEFRY_GROUP(13, 15, 26, 6, 1) FG_THREEFRY_GROUP(17, 29, 16, 24, 2)                \
    FG_THREEFRY_GROUP(13, 15, 26, 6, 3) FG_THREEFRY_GROUP(17, 29, 16, 24, 4)                \
    FG_THREEFRY_GROUP(13, 15, 26, 6, 5)

#include "isa.h" /* the kinds FG_BITS_U32, FG_BITS_F32, FG_BITS_F64 (RANDOM_BITS_KINDS) */

/* Elements [lo, hi) of a draw: counters[j] hashed under key, as uint32 (the first word),
   float32 (its top 24 bits / 2^24) or float64 (27 bits of the first word and 26 of the
   second / 2^53: every value is exact). */
static void fg_random_bits(int kind, uint32_t k0, uint32_t k1, const uint32_t *counters,
                           void *out, long lo, long hi) {
    const uint32_t ks[3] = {k0, k1, k0 ^ k1 ^ 0x1BD11BDAu};
    if (kind == FG_BITS_U32) {
        uint32_t *y = (uint32_t *)out;
        for (long j = lo; j < hi; j++) { FG_THREEFRY(counters[j]) y[j] = x0; }
    } else if (kind == FG_BITS_F32) {
        float *y = (float *)out;
        for (long j = lo; j < hi; j++) {
            FG_THREEFRY(counters[j])
            y[j] = (float)(int32_t)(x0 >> 8) * 0x1p-24f;
        }
    } else {
        double *y = (double *)out;
        for (long j = lo; j < hi; j++) {
            FG_THREEFRY(counters[j])
            y[j] = ((double)(int32_t)(x0 >> 5) * 0x1p26 + (double)(int32_t)(x1 >> 6)) * 0x1p-53;
        }
    }
}

#endif
