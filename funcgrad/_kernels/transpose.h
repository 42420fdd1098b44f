/* A dense 2-D transpose for the filter gradient (convolution.pyx). */
#ifndef FUNCGRAD_TRANSPOSE_H
#define FUNCGRAD_TRANSPOSE_H

#ifdef __AVX__
#include <immintrin.h>
#endif

/* dst (cols, rows) = src (rows, cols) transposed, both C-contiguous. With AVX, in 8x8
   (float) or 4x4 (double) tiles of vector loads, shuffles and stores: one element at a
   time, the stores alone were a large part of the reference CNN's filter gradient. */
/* rows [r0, r1) and columns [c0, cols) of the transpose, one element at a time: what
   the tiles below leave at the edges */
#define FG_TRANSPOSE_EDGE(T, S)                                                         \
static void fg_transpose_edge_##S(const T *src, long rows, long cols, T *dst, long r0,  \
                                  long r1, long c0) {                                   \
    for (long r = r0; r < r1; r++)                                                      \
        for (long c = c0; c < cols; c++) dst[c * rows + r] = src[r * cols + c];         \
}
FG_TRANSPOSE_EDGE(float, f)
FG_TRANSPOSE_EDGE(double, d)
#ifdef __AVX__
/* One 8x8 float tile: s its first element (rows `cols` apart), d where its transpose
   goes (rows `rows` apart). Pairs of rows interleaved, then groups of four, then the
   128-bit halves. */
static inline void fg_transpose_tile_f(const float *s, long cols, float *d, long rows) {
    __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + cols),
           a2 = _mm256_loadu_ps(s + 2 * cols), a3 = _mm256_loadu_ps(s + 3 * cols),
           a4 = _mm256_loadu_ps(s + 4 * cols), a5 = _mm256_loadu_ps(s + 5 * cols),
           a6 = _mm256_loadu_ps(s + 6 * cols), a7 = _mm256_loadu_ps(s + 7 * cols);
    __m256 t0 = _mm256_unpacklo_ps(a0, a1), t1 = _mm256_unpackhi_ps(a0, a1),
           t2 = _mm256_unpacklo_ps(a2, a3), t3 = _mm256_unpackhi_ps(a2, a3),
           t4 = _mm256_unpacklo_ps(a4, a5), t5 = _mm256_unpackhi_ps(a4, a5),
           t6 = _mm256_unpacklo_ps(a6, a7), t7 = _mm256_unpackhi_ps(a6, a7);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
           u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
           u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
           u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u4, 0x20));
    _mm256_storeu_ps(d + rows, _mm256_permute2f128_ps(u1, u5, 0x20));
    _mm256_storeu_ps(d + 2 * rows, _mm256_permute2f128_ps(u2, u6, 0x20));
    _mm256_storeu_ps(d + 3 * rows, _mm256_permute2f128_ps(u3, u7, 0x20));
    _mm256_storeu_ps(d + 4 * rows, _mm256_permute2f128_ps(u0, u4, 0x31));
    _mm256_storeu_ps(d + 5 * rows, _mm256_permute2f128_ps(u1, u5, 0x31));
    _mm256_storeu_ps(d + 6 * rows, _mm256_permute2f128_ps(u2, u6, 0x31));
    _mm256_storeu_ps(d + 7 * rows, _mm256_permute2f128_ps(u3, u7, 0x31));
}
/* One 4x4 double tile, likewise */
static inline void fg_transpose_tile_d(const double *s, long cols, double *d, long rows) {
    __m256d a0 = _mm256_loadu_pd(s), a1 = _mm256_loadu_pd(s + cols),
            a2 = _mm256_loadu_pd(s + 2 * cols), a3 = _mm256_loadu_pd(s + 3 * cols);
    __m256d t0 = _mm256_unpacklo_pd(a0, a1), t1 = _mm256_unpackhi_pd(a0, a1),
            t2 = _mm256_unpacklo_pd(a2, a3), t3 = _mm256_unpackhi_pd(a2, a3);
    _mm256_storeu_pd(d, _mm256_permute2f128_pd(t0, t2, 0x20));
    _mm256_storeu_pd(d + rows, _mm256_permute2f128_pd(t1, t3, 0x20));
    _mm256_storeu_pd(d + 2 * rows, _mm256_permute2f128_pd(t0, t2, 0x31));
    _mm256_storeu_pd(d + 3 * rows, _mm256_permute2f128_pd(t1, t3, 0x31));
}
#endif
/* The whole transpose: W x W tiles (with AVX), the rest element by element */
#ifdef __AVX__
#define FG_TRANSPOSE_TILES(S, W)                                                        \
    for (; r + W <= rows; r += W) {                                                     \
        for (c = 0; c + W <= cols; c += W)                                              \
            fg_transpose_tile_##S(src + r * cols + c, cols, dst + c * rows + r, rows);  \
        fg_transpose_edge_##S(src, rows, cols, dst, r, r + W, c);                       \
    }
#else
#define FG_TRANSPOSE_TILES(S, W)
#endif
#define FG_TRANSPOSE(T, S, W)                                                           \
static void fg_transpose_##S(const T *src, long rows, long cols, T *dst) {             \
    long r = 0, c;                                                                      \
    FG_TRANSPOSE_TILES(S, W)                                                            \
    (void)c;                                                                            \
    fg_transpose_edge_##S(src, rows, cols, dst, r, rows, 0);                            \
}
FG_TRANSPOSE(float, f, 8)
FG_TRANSPOSE(double, d, 4)

#endif
