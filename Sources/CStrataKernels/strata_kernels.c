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

// The widths the kernels are specialised for, as lists a macro is applied to (X-macros): one
// function per width, and the table of them indexed by width.
#define WIDTHS_1_8(X) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8)
#define WIDTHS_9_16(X) X(9) X(10) X(11) X(12) X(13) X(14) X(15) X(16)
#define WIDTHS_17_24(X) X(17) X(18) X(19) X(20) X(21) X(22) X(23) X(24)
#define WIDTHS_25_32(X) X(25) X(26) X(27) X(28) X(29) X(30) X(31) X(32)
#define WIDTHS_33_40(X) X(33) X(34) X(35) X(36) X(37) X(38) X(39) X(40)
#define WIDTHS_41_48(X) X(41) X(42) X(43) X(44) X(45) X(46) X(47) X(48)
#define WIDTHS_49_56(X) X(49) X(50) X(51) X(52) X(53) X(54) X(55) X(56)
#define WIDTHS_1_32(X) WIDTHS_1_8(X) WIDTHS_9_16(X) WIDTHS_17_24(X) WIDTHS_25_32(X)
#define WIDTHS_1_56(X) WIDTHS_1_32(X) WIDTHS_33_40(X) WIDTHS_41_48(X) WIDTHS_49_56(X)

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

WIDTHS_1_56(DEFINE_UNPACK)

typedef void (*unpack_fn)(const uint8_t *, uint64_t *);
#define UNPACK128_ENTRY(W) unpack128_##W,
static const unpack_fn unpackers[57] = {0, WIDTHS_1_56(UNPACK128_ENTRY)};

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

WIDTHS_1_56(DEFINE_DELTA)

typedef uint64_t (*delta_fn)(const uint8_t *, uint64_t *, uint64_t, int);
#define DELTA128_ENTRY(W) delta128_##W,
static const delta_fn deltas[57] = {0, WIDTHS_1_56(DELTA128_ENTRY)};

// AVX-512 VBMI twins of the miniblock kernels (below), for widths 1 ... 56 and no running xor.
static int use_vbmi(void);
static void unpack128_vbmi(const uint8_t *in, unsigned width, int64_t *out, unsigned finish, int64_t divisor, int64_t *acc);
static uint64_t sum128_vbmi(const uint8_t *in, unsigned width, int zigzag);

void strata_unpack128(const uint8_t *in, unsigned width, int64_t *out, unsigned finish, int64_t divisor,
                      int64_t *acc) {
    if (width >= 1 && width <= 56 && !(finish & STRATA_FINISH_XOR) && use_vbmi()) {
        unpack128_vbmi(in, width, out, finish, divisor, acc);
        return;
    }
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

WIDTHS_1_56(DEFINE_SUM)

typedef uint64_t (*sum_fn)(const uint8_t *, int);
#define SUM128_ENTRY(W) sum128_##W,
static const sum_fn summers[57] = {0, WIDTHS_1_56(SUM128_ENTRY)};

void strata_skip128(const uint8_t *in, unsigned width, unsigned finish, int64_t divisor, int64_t *acc) {
    uint64_t a = (uint64_t)*acc;
    if (finish & STRATA_FINISH_DELTA) {
        // The running sum moves by divisor × the sum of the values (wrapping: × distributes over +).
        int zigzag = (finish & STRATA_FINISH_ZIGZAG) != 0;
        a += (use_vbmi() ? sum128_vbmi(in, width, zigzag) : summers[width](in, zigzag)) * (uint64_t)divisor;
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

#if __has_include(<sys/platform/x86.h>)
#include <sys/platform/x86.h>
// The processor's features as glibc recorded them when the process started (CPUID and XCR0, read
// by the dynamic loader): "active" means present and their registers saved by the system. Asking
// CPUID again costs a virtual machine an exit to its host each time: 8 µs a call on this machine
// (a C loop), and the check made ten calls in a fresh process's first decode (`perf`: 22 µs of a
// fresh one-day scan).
static int has_avx512dq(void) {
    return CPU_FEATURE_ACTIVE(AVX512F) && CPU_FEATURE_ACTIVE(AVX512DQ) && CPU_FEATURE_ACTIVE(AVX512VL);
}
// BW and VBMI too (asked once `has_avx512dq` holds).
static int has_vbmi(void) { return CPU_FEATURE_ACTIVE(AVX512BW) && CPU_FEATURE_ACTIVE(AVX512_VBMI); }
#else
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
static int has_vbmi(void) {
    unsigned eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx & (1u << 30)) && (ecx & (1u << 1));  // BW, VBMI
}
#endif
#endif

// The vector paths this processor takes: 1 AVX-512 F, DQ and VL (prediction, decimal check, run
// reductions), 2 also BW and VBMI (miniblock kernels). Asked once, kept atomically; tests may turn
// them off to compare them with the scalar paths (other threads then get the same values by those).
static int vector_paths = -1;

static int detected_paths(void) {
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
    return has_avx512dq() ? (has_vbmi() ? 3 : 1) : 0;
#else
    return 0;
#endif
}

static int paths(void) {
    int on = __atomic_load_n(&vector_paths, __ATOMIC_RELAXED);
    if (on < 0) {
        on = detected_paths();
        __atomic_store_n(&vector_paths, on, __ATOMIC_RELAXED);
    }
    return on;
}

static int use_avx512(void) { return (paths() & 1) != 0; }
static int use_vbmi(void) { return (paths() & 2) != 0; }

int strata_use_vector_kernels(int on) {
    int now = on ? detected_paths() : 0;
    __atomic_store_n(&vector_paths, now, __ATOMIC_RELAXED);
    return now;
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

WIDTHS_1_32(DEFINE_UNPACK8)

typedef uint32_t (*unpack8_fn)(const uint8_t *, uint32_t *);
#define UNPACK8_ENTRY(W) unpack8_##W,
static const unpack8_fn unpackers8[33] = {0, WIDTHS_1_32(UNPACK8_ENTRY)};

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

// Reductions of a run of Int64 for aggregates: loops the compiler vectorises on AVX-512 VL's 64-bit
// lanes (min, max and arithmetic shifts, which SSE2 lacks), scalar otherwise. Unsigned
// accumulators: the bounds in the header keep both sums exact.
#define SPLIT_SUM_LOOP                                                                     \
    uint64_t hi = 0, lo = 0;                                                               \
    for (size_t k = 0; k < n; k++) {                                                       \
        hi += (uint64_t)(v[k] >> 32);                                                      \
        lo += (uint64_t)v[k] & 0xFFFFFFFFu;                                                \
    }                                                                                      \
    *high = (int64_t)hi;                                                                   \
    *low = (int64_t)lo;
#define EXTREME_LOOP(BETTER)                                                               \
    int64_t m = v[0];                                                                      \
    for (size_t k = 1; k < n; k++) m = v[k] BETTER m ? v[k] : m;                           \
    return m;

static void split_sum_scalar(const int64_t *restrict v, size_t n, int64_t *high, int64_t *low) { SPLIT_SUM_LOOP }
static int64_t min_scalar(const int64_t *restrict v, size_t n) { EXTREME_LOOP(<) }
static int64_t max_scalar(const int64_t *restrict v, size_t n) { EXTREME_LOOP(>) }

#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
__attribute__((target(AVX512_TARGET))) static void split_sum_avx512(const int64_t *restrict v, size_t n, int64_t *high,
                                                                     int64_t *low) { SPLIT_SUM_LOOP }
__attribute__((target(AVX512_TARGET))) static int64_t min_avx512(const int64_t *restrict v, size_t n) { EXTREME_LOOP(<) }
__attribute__((target(AVX512_TARGET))) static int64_t max_avx512(const int64_t *restrict v, size_t n) { EXTREME_LOOP(>) }
#else
#define split_sum_avx512 split_sum_scalar
#define min_avx512 min_scalar
#define max_avx512 max_scalar
#endif

void strata_split_sum_i64(const int64_t *v, size_t n, int64_t *high, int64_t *low) {
    if (use_avx512()) {
        split_sum_avx512(v, n, high, low);
    } else {
        split_sum_scalar(v, n, high, low);
    }
}
int64_t strata_min_i64(const int64_t *v, size_t n) { return use_avx512() ? min_avx512(v, n) : min_scalar(v, n); }
int64_t strata_max_i64(const int64_t *v, size_t n) { return use_avx512() ? max_avx512(v, n) : max_scalar(v, n); }

// The miniblock kernels on AVX-512 VBMI's 64-byte registers, eight values a step. The eight values
// of a group span W bytes (W = width ≤ 56); value j is the 8 bytes from byte ⌊jW/8⌋, shifted right
// by jW mod 8 and masked: one masked load of the group's W + 8 bytes (masked-out bytes are never
// read, so the kernels read no further than the scalar ones), one byte permutation that gathers
// each value's 8 bytes into its lane, one variable shift, one mask. The running sum adds each
// lane's predecessors in three shifted adds, then the sum so far. Wrapping arithmetic throughout,
// as the scalar kernels.
#if defined(__x86_64__) && (defined(__clang__) || defined(__GNUC__))
#include <immintrin.h>
#define VBMI_TARGET "avx512f,avx512bw,avx512dq,avx512vl,avx512vbmi"

struct group_layout {
    __m512i index, shift, mask;
    __mmask64 load;
};

__attribute__((target(VBMI_TARGET))) static inline struct group_layout layout_of(unsigned w) {
    const __m512i bits = _mm512_mullo_epi64(_mm512_set_epi64(7, 6, 5, 4, 3, 2, 1, 0), _mm512_set1_epi64(w));
    const __m512i first = _mm512_srli_epi64(bits, 3);  // each value's first byte, at most 49
    struct group_layout g;
    g.index = _mm512_add_epi64(_mm512_mullo_epi64(first, _mm512_set1_epi64(0x0101010101010101)),
                               _mm512_set1_epi64(0x0706050403020100));
    g.shift = _mm512_and_si512(bits, _mm512_set1_epi64(7));
    g.mask = _mm512_set1_epi64((int64_t)((UINT64_C(1) << w) - 1));
    g.load = w + 8 >= 64 ? ~UINT64_C(0) : (UINT64_C(1) << (w + 8)) - 1;
    return g;
}

__attribute__((target(VBMI_TARGET))) static inline __m512i group_values(const uint8_t *in, const struct group_layout *g) {
    __m512i bytes = _mm512_maskz_loadu_epi8(g->load, in);
    __m512i words = _mm512_permutexvar_epi8(g->index, bytes);
    return _mm512_and_si512(_mm512_srlv_epi64(words, g->shift), g->mask);
}

__attribute__((target(VBMI_TARGET))) static inline __m512i unzigzag8(__m512i v) {
    __m512i sign = _mm512_sub_epi64(_mm512_setzero_si512(), _mm512_and_si512(v, _mm512_set1_epi64(1)));
    return _mm512_xor_si512(_mm512_srli_epi64(v, 1), sign);
}

// One loop for each combination of the steps, each with its steps fixed when compiled: a
// multiply by a divisor of 1 is left out, not done (the compiler made one loop that multiplied by
// 1 when it could test the flags once).
__attribute__((target(VBMI_TARGET))) static inline __attribute__((always_inline)) void unpack128_vbmi_steps(
    const uint8_t *in, unsigned width, int64_t *out, int64_t divisor, int64_t *acc, const int zigzag, const int delta,
    const int divide) {
    const struct group_layout g = layout_of(width);
    const __m512i zero = _mm512_setzero_si512(), d = _mm512_set1_epi64(divisor), last = _mm512_set1_epi64(7);
    __m512i a = _mm512_set1_epi64(*acc);
    for (int k = 0; k < 16; k++, in += width, out += 8) {
        __m512i v = group_values(in, &g);
        if (zigzag) v = unzigzag8(v);
        if (divide) v = _mm512_mullo_epi64(v, d);
        if (delta) {
            v = _mm512_add_epi64(v, _mm512_alignr_epi64(v, zero, 7));  // + the lane before
            v = _mm512_add_epi64(v, _mm512_alignr_epi64(v, zero, 6));  // + the two before those
            v = _mm512_add_epi64(v, _mm512_alignr_epi64(v, zero, 4));  // + the four before
            // The group's total is taken before the sum so far is added: the sum so far then
            // waits on one add a group, not on the add and the cross-lane permutation.
            const __m512i total = _mm512_permutexvar_epi64(last, v);
            v = _mm512_add_epi64(v, a);
            a = _mm512_add_epi64(a, total);
        }
        _mm512_storeu_si512(out, v);
    }
    if (delta) *acc = _mm_cvtsi128_si64(_mm512_castsi512_si128(a));
}

__attribute__((target(VBMI_TARGET))) static void unpack128_vbmi(const uint8_t *in, unsigned width, int64_t *out,
                                                                unsigned finish, int64_t divisor, int64_t *acc) {
    const int zigzag = (finish & STRATA_FINISH_ZIGZAG) != 0, delta = (finish & STRATA_FINISH_DELTA) != 0;
    switch ((zigzag ? 4 : 0) | (delta ? 2 : 0) | (divisor != 1 ? 1 : 0)) {
    case 0: unpack128_vbmi_steps(in, width, out, divisor, acc, 0, 0, 0); break;
    case 1: unpack128_vbmi_steps(in, width, out, divisor, acc, 0, 0, 1); break;
    case 2: unpack128_vbmi_steps(in, width, out, divisor, acc, 0, 1, 0); break;
    case 3: unpack128_vbmi_steps(in, width, out, divisor, acc, 0, 1, 1); break;
    case 4: unpack128_vbmi_steps(in, width, out, divisor, acc, 1, 0, 0); break;
    case 5: unpack128_vbmi_steps(in, width, out, divisor, acc, 1, 0, 1); break;
    case 6: unpack128_vbmi_steps(in, width, out, divisor, acc, 1, 1, 0); break;
    default: unpack128_vbmi_steps(in, width, out, divisor, acc, 1, 1, 1); break;
    }
}

__attribute__((target(VBMI_TARGET))) static uint64_t sum128_vbmi(const uint8_t *in, unsigned width, int zigzag) {
    const struct group_layout g = layout_of(width);
    __m512i s = _mm512_setzero_si512();
    for (int k = 0; k < 16; k++, in += width) {
        __m512i v = group_values(in, &g);
        s = _mm512_add_epi64(s, zigzag ? unzigzag8(v) : v);
    }
    return (uint64_t)_mm512_reduce_add_epi64(s);
}

#else
static void unpack128_vbmi(const uint8_t *in, unsigned width, int64_t *out, unsigned finish, int64_t divisor, int64_t *acc) {}
static uint64_t sum128_vbmi(const uint8_t *in, unsigned width, int zigzag) { return 0; }
#endif

