/* dtype conversions as NumPy's astype does them: C conversions, with bool targets 0/1 (x != 0,
   so NaN is True). Float -> integer conversions are not here: C leaves NaN and out-of-range
   values undefined, where NumPy warns; those stay with NumPy. */
#ifndef FUNCGRAD_CAST_H
#define FUNCGRAD_CAST_H

#include <stdint.h>

/* dtype codes FG_BOOL ... FG_FLOAT64 (CAST_DTYPES of the instruction set) */
#include "isa.h"

/* Bytes per element of each dtype, by code */
static const int64_t fg_itemsize[] = {1, 1, 1, 2, 2, 4, 4, 8, 8, 4, 8};

#define FG_CAST_LOOP(ST, DT)                                                                \
    {                                                                                       \
        const ST *a = (const ST *)src;                                                      \
        DT *b = (DT *)dst;                                                                  \
        for (long j = lo; j < hi; j++) b[j] = (DT)a[j];                                     \
    }                                                                                       \
    return 0;
#define FG_CAST_TO_BOOL(ST)                                                                 \
    {                                                                                       \
        const ST *a = (const ST *)src;                                                      \
        uint8_t *b = (uint8_t *)dst;                                                        \
        for (long j = lo; j < hi; j++) b[j] = a[j] != 0;                                    \
    }                                                                                       \
    return 0;
#define FG_CAST_TO_FLOAT(ST)                                                                \
    case FG_BOOL: FG_CAST_TO_BOOL(ST)                                                       \
    case FG_FLOAT32: FG_CAST_LOOP(ST, float)                                                \
    case FG_FLOAT64: FG_CAST_LOOP(ST, double)
#define FG_CAST_FROM_INT(ST)                                                                \
    switch (to) {                                                                           \
    FG_CAST_TO_FLOAT(ST)                                                                    \
    case FG_INT8: FG_CAST_LOOP(ST, int8_t)                                                  \
    case FG_UINT8: FG_CAST_LOOP(ST, uint8_t)                                                \
    case FG_INT16: FG_CAST_LOOP(ST, int16_t)                                                \
    case FG_UINT16: FG_CAST_LOOP(ST, uint16_t)                                              \
    case FG_INT32: FG_CAST_LOOP(ST, int32_t)                                                \
    case FG_UINT32: FG_CAST_LOOP(ST, uint32_t)                                              \
    case FG_INT64: FG_CAST_LOOP(ST, int64_t)                                                \
    case FG_UINT64: FG_CAST_LOOP(ST, uint64_t)                                              \
    }                                                                                       \
    return 1;
#define FG_CAST_FROM_FLOAT(ST)                                                              \
    switch (to) { FG_CAST_TO_FLOAT(ST) }                                                    \
    return 1;

/* Elements [lo, hi) of src (dtype code `from`) converted into dst (code `to`); 1 (nothing
   done) for a pair not supported here. */
static inline int fg_cast(int from, int to, const void *src, void *dst, long lo, long hi) {
    switch (from) {
    case FG_BOOL: case FG_UINT8: FG_CAST_FROM_INT(uint8_t)
    case FG_INT8: FG_CAST_FROM_INT(int8_t)
    case FG_INT16: FG_CAST_FROM_INT(int16_t)
    case FG_UINT16: FG_CAST_FROM_INT(uint16_t)
    case FG_INT32: FG_CAST_FROM_INT(int32_t)
    case FG_UINT32: FG_CAST_FROM_INT(uint32_t)
    case FG_INT64: FG_CAST_FROM_INT(int64_t)
    case FG_UINT64: FG_CAST_FROM_INT(uint64_t)
    case FG_FLOAT32: FG_CAST_FROM_FLOAT(float)
    case FG_FLOAT64: FG_CAST_FROM_FLOAT(double)
    }
    return 1;
}

/* Integer elementwise kernels work on int64 values: every integer dtype but uint64 (and
   bool) converts to int64 exactly. n values of a strided array into int64... */
#define FG_LOAD_INT(ST)                                                                     \
    {                                                                                       \
        const ST *a = (const ST *)src;                                                      \
        for (long j = 0; j < n; j++) dst[j] = (int64_t)a[j * stride];                       \
    }                                                                                       \
    return;
static inline void fg_load_int(int from, const void *src, long stride, int64_t *dst, long n) {
    switch (from) {
    case FG_BOOL: case FG_UINT8: FG_LOAD_INT(uint8_t)
    case FG_INT8: FG_LOAD_INT(int8_t)
    case FG_INT16: FG_LOAD_INT(int16_t)
    case FG_UINT16: FG_LOAD_INT(uint16_t)
    case FG_INT32: FG_LOAD_INT(int32_t)
    case FG_UINT32: FG_LOAD_INT(uint32_t)
    case FG_INT64: FG_LOAD_INT(int64_t)
    }
}

/* ... and n int64 values stored as dtype `to` (wrapping modulo its size, as NumPy's integer
   arithmetic does; bool: nonzero is true, so that True + True, NumPy's logical or, is
   stored as 1, not 2). */
#define FG_STORE_INT(DT)                                                                    \
    {                                                                                       \
        DT *b = (DT *)dst;                                                                  \
        for (long j = 0; j < n; j++) b[j] = (DT)(uint64_t)src[j];                           \
    }                                                                                       \
    return;
static inline void fg_store_int(int to, const int64_t *src, void *dst, long n) {
    switch (to) {
    case FG_BOOL:
        for (long j = 0; j < n; j++) ((uint8_t *)dst)[j] = src[j] != 0;
        return;
    case FG_UINT8: FG_STORE_INT(uint8_t)
    case FG_INT8: FG_STORE_INT(int8_t)
    case FG_INT16: FG_STORE_INT(int16_t)
    case FG_UINT16: FG_STORE_INT(uint16_t)
    case FG_INT32: FG_STORE_INT(int32_t)
    case FG_UINT32: FG_STORE_INT(uint32_t)
    case FG_INT64: FG_STORE_INT(int64_t)
    }
}

#endif
