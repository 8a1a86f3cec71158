#include "strata_kernels.h"

#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline uint64_t load64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);  // little-endian hosts only (x86-64, arm64): the format is little-endian
    return v;
}

// Eight values of width W start at a whole byte (8 × W bits = W bytes), so within a group of
// eight every offset and shift is a constant.
#define VALUE(J, W) ((load64(in + ((J) * (W)) / 8) >> (((J) * (W)) % 8)) & mask)
#define DEFINE_UNPACK(W)                                                   \
    static void unpack128_##W(const uint8_t *in, uint64_t *out) {          \
        const uint64_t mask = (UINT64_C(1) << (W)) - 1;                    \
        for (int g = 0; g < 16; g++, in += (W), out += 8) {                \
            out[0] = VALUE(0, W);                                          \
            out[1] = VALUE(1, W);                                          \
            out[2] = VALUE(2, W);                                          \
            out[3] = VALUE(3, W);                                          \
            out[4] = VALUE(4, W);                                          \
            out[5] = VALUE(5, W);                                          \
            out[6] = VALUE(6, W);                                          \
            out[7] = VALUE(7, W);                                          \
        }                                                                  \
    }

DEFINE_UNPACK(1) DEFINE_UNPACK(2) DEFINE_UNPACK(3) DEFINE_UNPACK(4) DEFINE_UNPACK(5) DEFINE_UNPACK(6)
DEFINE_UNPACK(7) DEFINE_UNPACK(8) DEFINE_UNPACK(9) DEFINE_UNPACK(10) DEFINE_UNPACK(11) DEFINE_UNPACK(12)
DEFINE_UNPACK(13) DEFINE_UNPACK(14) DEFINE_UNPACK(15) DEFINE_UNPACK(16) DEFINE_UNPACK(17) DEFINE_UNPACK(18)
DEFINE_UNPACK(19) DEFINE_UNPACK(20) DEFINE_UNPACK(21) DEFINE_UNPACK(22) DEFINE_UNPACK(23) DEFINE_UNPACK(24)
DEFINE_UNPACK(25) DEFINE_UNPACK(26) DEFINE_UNPACK(27) DEFINE_UNPACK(28) DEFINE_UNPACK(29) DEFINE_UNPACK(30)
DEFINE_UNPACK(31) DEFINE_UNPACK(32) DEFINE_UNPACK(33) DEFINE_UNPACK(34) DEFINE_UNPACK(35) DEFINE_UNPACK(36)
DEFINE_UNPACK(37) DEFINE_UNPACK(38) DEFINE_UNPACK(39) DEFINE_UNPACK(40) DEFINE_UNPACK(41) DEFINE_UNPACK(42)
DEFINE_UNPACK(43) DEFINE_UNPACK(44) DEFINE_UNPACK(45) DEFINE_UNPACK(46) DEFINE_UNPACK(47) DEFINE_UNPACK(48)
DEFINE_UNPACK(49) DEFINE_UNPACK(50) DEFINE_UNPACK(51) DEFINE_UNPACK(52) DEFINE_UNPACK(53) DEFINE_UNPACK(54)
DEFINE_UNPACK(55) DEFINE_UNPACK(56)

typedef void (*unpack_fn)(const uint8_t *, uint64_t *);
static const unpack_fn unpackers[57] = {
    0, unpack128_1, unpack128_2, unpack128_3, unpack128_4, unpack128_5, unpack128_6, unpack128_7,
    unpack128_8, unpack128_9, unpack128_10, unpack128_11, unpack128_12, unpack128_13, unpack128_14,
    unpack128_15, unpack128_16, unpack128_17, unpack128_18, unpack128_19, unpack128_20, unpack128_21,
    unpack128_22, unpack128_23, unpack128_24, unpack128_25, unpack128_26, unpack128_27, unpack128_28,
    unpack128_29, unpack128_30, unpack128_31, unpack128_32, unpack128_33, unpack128_34, unpack128_35,
    unpack128_36, unpack128_37, unpack128_38, unpack128_39, unpack128_40, unpack128_41, unpack128_42,
    unpack128_43, unpack128_44, unpack128_45, unpack128_46, unpack128_47, unpack128_48, unpack128_49,
    unpack128_50, unpack128_51, unpack128_52, unpack128_53, unpack128_54, unpack128_55, unpack128_56,
};

static inline int64_t unzigzag(uint64_t u) { return (int64_t)(u >> 1) ^ -(int64_t)(u & 1); }

// Unpacking and the running sum of a delta-coded miniblock in one pass (divisor 1): each value is
// added to the sum as it leaves its register and only the sum is stored. Unpacking, then undoing the
// zigzag in a pass of its own and then summing in a third, stored and loaded every value twice more.
#define DELTA_STEP(J, W, F) \
    a += F(VALUE(J, W));    \
    out[J] = a;
#define DELTA8(W, F)                                                                          \
    DELTA_STEP(0, W, F) DELTA_STEP(1, W, F) DELTA_STEP(2, W, F) DELTA_STEP(3, W, F)           \
    DELTA_STEP(4, W, F) DELTA_STEP(5, W, F) DELTA_STEP(6, W, F) DELTA_STEP(7, W, F)
#define DEFINE_DELTA(W)                                                                       \
    static uint64_t delta128_##W(const uint8_t *in, uint64_t *out, uint64_t a, int zigzag) {  \
        const uint64_t mask = (UINT64_C(1) << (W)) - 1;                                       \
        if (zigzag) {                                                                         \
            for (int g = 0; g < 16; g++, in += (W), out += 8) { DELTA8(W, UNZIGZAG) }         \
        } else {                                                                              \
            for (int g = 0; g < 16; g++, in += (W), out += 8) { DELTA8(W, PLAIN) }           \
        }                                                                                     \
        return a;                                                                             \
    }
#define PLAIN(V) (V)
#define UNZIGZAG(V) ((uint64_t)unzigzag(V))

DEFINE_DELTA(1) DEFINE_DELTA(2) DEFINE_DELTA(3) DEFINE_DELTA(4) DEFINE_DELTA(5) DEFINE_DELTA(6) DEFINE_DELTA(7)
DEFINE_DELTA(8) DEFINE_DELTA(9) DEFINE_DELTA(10) DEFINE_DELTA(11) DEFINE_DELTA(12) DEFINE_DELTA(13) DEFINE_DELTA(14)
DEFINE_DELTA(15) DEFINE_DELTA(16) DEFINE_DELTA(17) DEFINE_DELTA(18) DEFINE_DELTA(19) DEFINE_DELTA(20) DEFINE_DELTA(21)
DEFINE_DELTA(22) DEFINE_DELTA(23) DEFINE_DELTA(24) DEFINE_DELTA(25) DEFINE_DELTA(26) DEFINE_DELTA(27) DEFINE_DELTA(28)
DEFINE_DELTA(29) DEFINE_DELTA(30) DEFINE_DELTA(31) DEFINE_DELTA(32) DEFINE_DELTA(33) DEFINE_DELTA(34) DEFINE_DELTA(35)
DEFINE_DELTA(36) DEFINE_DELTA(37) DEFINE_DELTA(38) DEFINE_DELTA(39) DEFINE_DELTA(40) DEFINE_DELTA(41) DEFINE_DELTA(42)
DEFINE_DELTA(43) DEFINE_DELTA(44) DEFINE_DELTA(45) DEFINE_DELTA(46) DEFINE_DELTA(47) DEFINE_DELTA(48) DEFINE_DELTA(49)
DEFINE_DELTA(50) DEFINE_DELTA(51) DEFINE_DELTA(52) DEFINE_DELTA(53) DEFINE_DELTA(54) DEFINE_DELTA(55) DEFINE_DELTA(56)

typedef uint64_t (*delta_fn)(const uint8_t *, uint64_t *, uint64_t, int);
static const delta_fn deltas[57] = {
    0, delta128_1, delta128_2, delta128_3, delta128_4, delta128_5, delta128_6, delta128_7, delta128_8, delta128_9,
    delta128_10, delta128_11, delta128_12, delta128_13, delta128_14, delta128_15, delta128_16, delta128_17,
    delta128_18, delta128_19, delta128_20, delta128_21, delta128_22, delta128_23, delta128_24, delta128_25,
    delta128_26, delta128_27, delta128_28, delta128_29, delta128_30, delta128_31, delta128_32, delta128_33,
    delta128_34, delta128_35, delta128_36, delta128_37, delta128_38, delta128_39, delta128_40, delta128_41,
    delta128_42, delta128_43, delta128_44, delta128_45, delta128_46, delta128_47, delta128_48, delta128_49,
    delta128_50, delta128_51, delta128_52, delta128_53, delta128_54, delta128_55, delta128_56,
};

void strata_unpack128(const uint8_t *in, unsigned width, int64_t *out, unsigned finish, int64_t divisor,
                      int64_t *acc) {
    uint64_t *raw = (uint64_t *)out;
    if ((finish & STRATA_FINISH_DELTA) && divisor == 1 && width >= 1 && width <= 56) {
        *acc = (int64_t)deltas[width](in, raw, (uint64_t)*acc, (finish & STRATA_FINISH_ZIGZAG) != 0);
        return;
    }
    if (width == 0 || width > 56) {
        memset(out, 0, 128 * sizeof(int64_t));
    } else {
        unpackers[width](in, raw);
    }
    // One loop per combination, so no flag is tested per value; the first two vectorise.
    // Arithmetic wraps (unsigned), as the format says.
    if ((finish & STRATA_FINISH_ZIGZAG) && divisor == 1) {
        for (int k = 0; k < 128; k++) out[k] = unzigzag(raw[k]);
    } else if (finish & STRATA_FINISH_ZIGZAG) {
        for (int k = 0; k < 128; k++) out[k] = (int64_t)((uint64_t)unzigzag(raw[k]) * (uint64_t)divisor);
    } else if (divisor != 1) {
        for (int k = 0; k < 128; k++) out[k] = (int64_t)(raw[k] * (uint64_t)divisor);
    }
    if (finish & STRATA_FINISH_DELTA) {
        uint64_t a = (uint64_t)*acc;
        for (int k = 0; k < 128; k++) { a += (uint64_t)out[k]; out[k] = (int64_t)a; }
        *acc = (int64_t)a;
    } else if (finish & STRATA_FINISH_XOR) {
        uint64_t a = (uint64_t)*acc;
        for (int k = 0; k < 128; k++) { a ^= (uint64_t)out[k]; out[k] = (int64_t)a; }
        *acc = (int64_t)a;
    }
}

// The sum of 128 values of width W (zigzag-decoded or not), unpacked in registers and not stored.
#define SUM8(W, F) (F(VALUE(0, W)) + F(VALUE(1, W)) + F(VALUE(2, W)) + F(VALUE(3, W)) + F(VALUE(4, W)) + \
                    F(VALUE(5, W)) + F(VALUE(6, W)) + F(VALUE(7, W)))
#define DEFINE_SUM(W)                                                         \
    static uint64_t sum128_##W(const uint8_t *in, int zigzag) {               \
        const uint64_t mask = (UINT64_C(1) << (W)) - 1;                       \
        uint64_t s = 0;                                                       \
        if (zigzag) {                                                         \
            for (int g = 0; g < 16; g++, in += (W)) s += SUM8(W, UNZIGZAG);   \
        } else {                                                              \
            for (int g = 0; g < 16; g++, in += (W)) s += SUM8(W, PLAIN);      \
        }                                                                     \
        return s;                                                             \
    }

DEFINE_SUM(1) DEFINE_SUM(2) DEFINE_SUM(3) DEFINE_SUM(4) DEFINE_SUM(5) DEFINE_SUM(6) DEFINE_SUM(7)
DEFINE_SUM(8) DEFINE_SUM(9) DEFINE_SUM(10) DEFINE_SUM(11) DEFINE_SUM(12) DEFINE_SUM(13) DEFINE_SUM(14)
DEFINE_SUM(15) DEFINE_SUM(16) DEFINE_SUM(17) DEFINE_SUM(18) DEFINE_SUM(19) DEFINE_SUM(20) DEFINE_SUM(21)
DEFINE_SUM(22) DEFINE_SUM(23) DEFINE_SUM(24) DEFINE_SUM(25) DEFINE_SUM(26) DEFINE_SUM(27) DEFINE_SUM(28)
DEFINE_SUM(29) DEFINE_SUM(30) DEFINE_SUM(31) DEFINE_SUM(32) DEFINE_SUM(33) DEFINE_SUM(34) DEFINE_SUM(35)
DEFINE_SUM(36) DEFINE_SUM(37) DEFINE_SUM(38) DEFINE_SUM(39) DEFINE_SUM(40) DEFINE_SUM(41) DEFINE_SUM(42)
DEFINE_SUM(43) DEFINE_SUM(44) DEFINE_SUM(45) DEFINE_SUM(46) DEFINE_SUM(47) DEFINE_SUM(48) DEFINE_SUM(49)
DEFINE_SUM(50) DEFINE_SUM(51) DEFINE_SUM(52) DEFINE_SUM(53) DEFINE_SUM(54) DEFINE_SUM(55) DEFINE_SUM(56)

typedef uint64_t (*sum_fn)(const uint8_t *, int);
static const sum_fn summers[57] = {
    0, sum128_1, sum128_2, sum128_3, sum128_4, sum128_5, sum128_6, sum128_7, sum128_8, sum128_9, sum128_10,
    sum128_11, sum128_12, sum128_13, sum128_14, sum128_15, sum128_16, sum128_17, sum128_18, sum128_19,
    sum128_20, sum128_21, sum128_22, sum128_23, sum128_24, sum128_25, sum128_26, sum128_27, sum128_28,
    sum128_29, sum128_30, sum128_31, sum128_32, sum128_33, sum128_34, sum128_35, sum128_36, sum128_37,
    sum128_38, sum128_39, sum128_40, sum128_41, sum128_42, sum128_43, sum128_44, sum128_45, sum128_46,
    sum128_47, sum128_48, sum128_49, sum128_50, sum128_51, sum128_52, sum128_53, sum128_54, sum128_55,
    sum128_56,
};

void strata_skip128(const uint8_t *in, unsigned width, unsigned finish, int64_t divisor, int64_t *acc) {
    uint64_t a = (uint64_t)*acc;
    if (finish & STRATA_FINISH_DELTA) {
        // The running sum moves by divisor × the sum of the values (wrapping: × distributes over +).
        a += summers[width](in, finish & STRATA_FINISH_ZIGZAG) * (uint64_t)divisor;
    } else if (finish & STRATA_FINISH_XOR) {
        uint64_t raw[128];
        unpackers[width](in, raw);
        for (int k = 0; k < 128; k++) {
            uint64_t v = (finish & STRATA_FINISH_ZIGZAG) ? (uint64_t)unzigzag(raw[k]) : raw[k];
            a ^= v * (uint64_t)divisor;
        }
    }
    *acc = (int64_t)a;
}

void strata_unshuffle(const uint8_t *src, size_t n, size_t lo, size_t hi, int64_t *dst) {
    size_t j = lo;
#if defined(__SSE2__)
    for (; j + 16 <= hi; j += 16) {
#define PLANE(I) _mm_loadu_si128((const __m128i *)(src + (I) * n + j))
        __m128i p0 = PLANE(0), p1 = PLANE(1), p2 = PLANE(2), p3 = PLANE(3);
        __m128i p4 = PLANE(4), p5 = PLANE(5), p6 = PLANE(6), p7 = PLANE(7);
#undef PLANE
        // Bytes 0-1, 2-3, 4-5, 6-7 of values 0-7 (lo) and 8-15 (hi), as 16-bit lanes.
        __m128i w01l = _mm_unpacklo_epi8(p0, p1), w01h = _mm_unpackhi_epi8(p0, p1);
        __m128i w23l = _mm_unpacklo_epi8(p2, p3), w23h = _mm_unpackhi_epi8(p2, p3);
        __m128i w45l = _mm_unpacklo_epi8(p4, p5), w45h = _mm_unpackhi_epi8(p4, p5);
        __m128i w67l = _mm_unpacklo_epi8(p6, p7), w67h = _mm_unpackhi_epi8(p6, p7);
        // Bytes 0-3 and 4-7 of values 0-3, 4-7, 8-11, 12-15, as 32-bit lanes.
        __m128i d0 = _mm_unpacklo_epi16(w01l, w23l), d1 = _mm_unpackhi_epi16(w01l, w23l);
        __m128i d2 = _mm_unpacklo_epi16(w01h, w23h), d3 = _mm_unpackhi_epi16(w01h, w23h);
        __m128i e0 = _mm_unpacklo_epi16(w45l, w67l), e1 = _mm_unpackhi_epi16(w45l, w67l);
        __m128i e2 = _mm_unpacklo_epi16(w45h, w67h), e3 = _mm_unpackhi_epi16(w45h, w67h);
        __m128i *out = (__m128i *)(dst + j);
        _mm_storeu_si128(out + 0, _mm_unpacklo_epi32(d0, e0));
        _mm_storeu_si128(out + 1, _mm_unpackhi_epi32(d0, e0));
        _mm_storeu_si128(out + 2, _mm_unpacklo_epi32(d1, e1));
        _mm_storeu_si128(out + 3, _mm_unpackhi_epi32(d1, e1));
        _mm_storeu_si128(out + 4, _mm_unpacklo_epi32(d2, e2));
        _mm_storeu_si128(out + 5, _mm_unpackhi_epi32(d2, e2));
        _mm_storeu_si128(out + 6, _mm_unpacklo_epi32(d3, e3));
        _mm_storeu_si128(out + 7, _mm_unpackhi_epi32(d3, e3));
    }
#endif
    for (; j < hi; j++) {
        uint64_t w = 0;
        for (int i = 0; i < 8; i++) w |= (uint64_t)src[(size_t)i * n + j] << (8 * i);
        dst[j] = (int64_t)w;
    }
}

// The prediction's arithmetic must be that of Prediction.value in Swift, which never fuses a
// multiply and an add: contraction is off for this file's floating point from here on.
#pragma STDC FP_CONTRACT OFF

// The prediction of row R: (a × f1 + b × f2) × v truncated toward zero, 0 from 2^62 in magnitude.
#define PREDICTION(R)                                                                       \
    double q = ((double)a[R] * f1 + (double)b[R] * f2) * (double)v[R];                      \
    int64_t p = (q < 4611686018427387904.0 && q > -4611686018427387904.0) ? (int64_t)q : 0;

#define RESIDUALS_LOOP                                                                      \
    for (size_t r = 0; r < n; r++) {                                                        \
        PREDICTION(r)                                                                       \
        out[r] = (int64_t)((uint64_t)target[r] - (uint64_t)p);                              \
    }

#define PREDICT_LOOP                                                                       \
    for (size_t r = lo; r < hi; r++) {                                                     \
        PREDICTION(r)                                                                      \
        int64_t t = (int64_t)((uint64_t)out[r] + (uint64_t)p);                              \
        if (divide > 0) {                                                                  \
            double d = (double)t / divide;                                                 \
            memcpy(&out[r], &d, 8);                                                        \
        } else {                                                                           \
            out[r] = t;                                                                    \
        }                                                                                  \
    }

static void predict_add_scalar(int64_t *restrict out, size_t lo, size_t hi, const int64_t *restrict v,
                               const int64_t *restrict a, const int64_t *restrict b, double f1, double f2,
                               double divide) {
    PREDICT_LOOP
}

static void predict_residuals_scalar(int64_t *restrict out, size_t n, const int64_t *restrict target,
                                     const int64_t *restrict v, const int64_t *restrict a, const int64_t *restrict b,
                                     double f1, double f2) {
    RESIDUALS_LOOP
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <cpuid.h>

// AVX-512's instructions on 256-bit registers (VL): int64 <-> double conversions (DQ) without the
// 512-bit registers, whose heavy use can lower the core's clock for the code that runs after them.
// Measured on this machine, CSV import: 3.04/3.09/3.50 s against 3.14/3.16/3.73 with 512-bit ones.
#define AVX512_TARGET "avx512f,avx512dq,avx512vl,prefer-256-bit"

__attribute__((target(AVX512_TARGET))) static void predict_residuals_avx512(
    int64_t *restrict out, size_t n, const int64_t *restrict target, const int64_t *restrict v,
    const int64_t *restrict a, const int64_t *restrict b, double f1, double f2) {
    RESIDUALS_LOOP
}

__attribute__((target(AVX512_TARGET))) static void predict_add_avx512(
    int64_t *restrict out, size_t lo, size_t hi, const int64_t *restrict v, const int64_t *restrict a,
    const int64_t *restrict b, double f1, double f2, double divide) {
    PREDICT_LOOP
}

// AVX-512 F, DQ and VL in the processor (CPUID leaf 7) and their registers saved by the system (XCR0:
// SSE, AVX, opmask and both halves of the ZMM state).
static int has_avx512dq(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1u << 27))) return 0;  // OSXSAVE
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    if (!(ebx & (1u << 16)) || !(ebx & (1u << 17)) || !(ebx & (1u << 31))) return 0;  // F, DQ, VL
    unsigned lo32, hi32;
    __asm__ volatile("xgetbv" : "=a"(lo32), "=d"(hi32) : "c"(0));
    return (lo32 & 0xE6) == 0xE6;
}
#endif

// Whether to take the AVX-512 paths: asked once (a benign race: every thread gets the same answer).
static int use_avx512(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    static int avx512 = -1;
    if (avx512 < 0) avx512 = has_avx512dq();
    return avx512;
#else
    return 0;
#endif
}

void strata_predict_add(int64_t *out, size_t lo, size_t hi, const int64_t *v, const int64_t *a, const int64_t *b,
                        double f1, double f2, double divide) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (use_avx512()) {
        predict_add_avx512(out, lo, hi, v, a, b, f1, f2, divide);
        return;
    }
#endif
    predict_add_scalar(out, lo, hi, v, a, b, f1, f2, divide);
}

// Sixteen values a step, written so that the compiler keeps the step in vector registers: every
// lane is computed and its failure or'ed into one word; a step with a failure is redone value by
// value to find it.
static inline int64_t decimal_one(const int64_t *values, size_t i, double p, int64_t *out) {
    double v, back;
    memcpy(&v, &values[i], 8);
    double t = v * p;
    int64_t small = (t < 2251799813685248.0) & (t > -2251799813685248.0);  // NaN: 0
    double s = small ? (t + 6755399441055744.0) - 6755399441055744.0 : 0.0;
    int64_t x = (int64_t)s;  // in range: |s| <= 2^51
    back = (double)x / p;
    int64_t bits;
    memcpy(&bits, &back, 8);
    out[i] = x;
    return (small ^ 1) | (bits ^ values[i]);  // 0 when the value passes
}
#define DECIMAL_LOOP                                                    \
    size_t i = lo;                                                      \
    for (; i + 16 <= n; i += 16) {                                      \
        int64_t bad = 0;                                                \
        for (size_t j = 0; j < 16; j++) bad |= decimal_one(values, i + j, p, out); \
        if (bad) break;                                                 \
    }                                                                   \
    for (; i < n; i++)                                                  \
        if (decimal_one(values, i, p, out)) return i;                   \
    return n;

static size_t decimal_prefix_scalar(const int64_t *restrict values, size_t lo, size_t n, double p,
                                    int64_t *restrict out) {
    DECIMAL_LOOP
}

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target(AVX512_TARGET))) static size_t decimal_prefix_avx512(
    const int64_t *restrict values, size_t lo, size_t n, double p, int64_t *restrict out) {
    DECIMAL_LOOP
}
#endif

size_t strata_decimal_prefix(const int64_t *values, size_t lo, size_t n, double p, int64_t *out) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (use_avx512()) return decimal_prefix_avx512(values, lo, n, p, out);
#endif
    return decimal_prefix_scalar(values, lo, n, p, out);
}

// Eight values of W bits (W <= 32) from W bytes at `in`, 8 more readable; the largest is or'ed into
// the return value's bits so that one comparison checks them all against a limit (max <= or).
#define DEFINE_UNPACK8(W)                                                                  \
    static uint32_t unpack8_##W(const uint8_t *in, uint32_t *out) {                         \
        const uint64_t mask = (UINT64_C(1) << (W)) - 1;                                    \
        uint32_t v0 = (uint32_t)VALUE(0, W), v1 = (uint32_t)VALUE(1, W);                   \
        uint32_t v2 = (uint32_t)VALUE(2, W), v3 = (uint32_t)VALUE(3, W);                   \
        uint32_t v4 = (uint32_t)VALUE(4, W), v5 = (uint32_t)VALUE(5, W);                   \
        uint32_t v6 = (uint32_t)VALUE(6, W), v7 = (uint32_t)VALUE(7, W);                   \
        out[0] = v0; out[1] = v1; out[2] = v2; out[3] = v3;                                \
        out[4] = v4; out[5] = v5; out[6] = v6; out[7] = v7;                                \
        uint32_t a = v0 > v1 ? v0 : v1, b = v2 > v3 ? v2 : v3;                             \
        uint32_t c = v4 > v5 ? v4 : v5, d = v6 > v7 ? v6 : v7;                             \
        a = a > b ? a : b;                                                                 \
        c = c > d ? c : d;                                                                 \
        return a > c ? a : c;                                                              \
    }

DEFINE_UNPACK8(1) DEFINE_UNPACK8(2) DEFINE_UNPACK8(3) DEFINE_UNPACK8(4) DEFINE_UNPACK8(5) DEFINE_UNPACK8(6)
DEFINE_UNPACK8(7) DEFINE_UNPACK8(8) DEFINE_UNPACK8(9) DEFINE_UNPACK8(10) DEFINE_UNPACK8(11) DEFINE_UNPACK8(12)
DEFINE_UNPACK8(13) DEFINE_UNPACK8(14) DEFINE_UNPACK8(15) DEFINE_UNPACK8(16) DEFINE_UNPACK8(17) DEFINE_UNPACK8(18)
DEFINE_UNPACK8(19) DEFINE_UNPACK8(20) DEFINE_UNPACK8(21) DEFINE_UNPACK8(22) DEFINE_UNPACK8(23) DEFINE_UNPACK8(24)
DEFINE_UNPACK8(25) DEFINE_UNPACK8(26) DEFINE_UNPACK8(27) DEFINE_UNPACK8(28) DEFINE_UNPACK8(29) DEFINE_UNPACK8(30)
DEFINE_UNPACK8(31) DEFINE_UNPACK8(32)

typedef uint32_t (*unpack8_fn)(const uint8_t *, uint32_t *);
static const unpack8_fn unpackers8[33] = {
    0, unpack8_1, unpack8_2, unpack8_3, unpack8_4, unpack8_5, unpack8_6, unpack8_7, unpack8_8, unpack8_9,
    unpack8_10, unpack8_11, unpack8_12, unpack8_13, unpack8_14, unpack8_15, unpack8_16, unpack8_17,
    unpack8_18, unpack8_19, unpack8_20, unpack8_21, unpack8_22, unpack8_23, unpack8_24, unpack8_25,
    unpack8_26, unpack8_27, unpack8_28, unpack8_29, unpack8_30, unpack8_31, unpack8_32,
};

uint32_t strata_unpack32(const uint8_t *in, size_t avail, unsigned width, size_t count, uint32_t *out) {
    if (width == 0 || width > 32) {
        memset(out, 0, count * sizeof(uint32_t));
        return 0;
    }
    uint32_t largest = 0;
    size_t k = 0;
    // Whole groups while the group's bytes and 8 more are readable.
    for (; k + 8 <= count && (k / 8 + 1) * width + 8 <= avail; k += 8) {
        uint32_t m = unpackers8[width](in + (k / 8) * width, out + k);
        largest = m > largest ? m : largest;
    }
    const uint64_t mask = (UINT64_C(1) << width) - 1;
    for (; k < count; k++) {
        size_t bit = k * width;
        uint64_t v = 0;
        for (unsigned got = 0; got < width;) {
            size_t at = (bit + got) / 8;
            unsigned shift = (unsigned)((bit + got) % 8);
            unsigned take = 8 - shift < width - got ? 8 - shift : width - got;
            v |= (uint64_t)((in[at] >> shift) & ((1u << take) - 1)) << got;
            got += take;
        }
        out[k] = (uint32_t)(v & mask);
        largest = out[k] > largest ? out[k] : largest;
    }
    return largest;
}

void strata_predict_residuals(int64_t *out, size_t n, const int64_t *target, const int64_t *v, const int64_t *a,
                              const int64_t *b, double f1, double f2) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    if (use_avx512()) {
        predict_residuals_avx512(out, n, target, v, a, b, f1, f2);
        return;
    }
#endif
    predict_residuals_scalar(out, n, target, v, a, b, f1, f2);
}
