// Strata's kernels in C: the one place where the compiler is given constant bit widths to unroll
// on, and where SSE2's byte interleaves and AVX-512's 64-bit lanes are reached (dispatched at run
// time). Called only from Sources/Strata/Format (Bitpack, ColumnCodec, Prediction), the Parquet
// decoder and AggregateSpec's run reductions. And what Swift cannot reach of the C library: the
// allocator's tuning, the affinity mask and one atomic bit array (strata_allocator.c).
#ifndef STRATA_KERNELS_H
#define STRATA_KERNELS_H

#include <stddef.h>
#include <stdint.h>

/// Finishing steps applied to each unpacked value, in this order: zigzag, times the divisor,
/// then a running sum or a running xor (not both).
enum {
    STRATA_FINISH_ZIGZAG = 1,
    STRATA_FINISH_DELTA = 2,
    STRATA_FINISH_XOR = 4,
};

/// Unpacks one full miniblock of 128 values of `width` bits (1 ... 56), least significant bit
/// first, from `in`, finishes each (the flags above, with `divisor` and the running value
/// `*acc`, which is updated) and stores them at `out`. `in` must have 16 × width + 8 readable
/// bytes (the packed bytes and 8 more): every value is read with one 8-byte load.
void strata_unpack128(const uint8_t *in, unsigned width, int64_t *out, unsigned finish, int64_t divisor,
                      int64_t *acc);

/// What `strata_unpack128` does to `*acc` for the same miniblock, without storing the values: a
/// decode that starts inside a delta or xor chunk steps over the miniblocks before it this way.
/// `width` is 1 ... 56; `in` as for `strata_unpack128`.
void strata_skip128(const uint8_t *in, unsigned width, unsigned finish, int64_t divisor, int64_t *acc);

/// Undoes the byte shuffle of `n` values (byte plane i holds byte i of every value, plane after
/// plane, `src` holding 8 × n bytes) for the values `lo ..< hi`, writing them to `dst + lo ...`.
/// Sixteen values at a time through SSE2's byte, word and double-word interleaves where the
/// target has SSE2 (every x86-64), one value at a time otherwise and for the rest.
void strata_unshuffle(const uint8_t *src, size_t n, size_t lo, size_t hi, int64_t *dst);

/// Adds the turnover prediction to the residuals `out[lo ..< hi]`, from the counts `v` and the
/// prices' scaled integers `a` and `b`: out[r] += p, p = (a[r] × f1 + b[r] × f2) × v[r] truncated
/// toward zero, or 0 when |p| ≥ 2^62, the arithmetic exactly that of `Prediction.value` (no fused
/// multiply-add, wrapping integer addition). With `divide` > 0 each sum is then stored as the bit
/// pattern of the double sum / `divide`. AVX-512 (F, DQ and VL: int64 <-> double conversions, on
/// 256-bit registers) where the processor and system have it, checked once; scalar otherwise.
void strata_predict_add(int64_t *out, size_t lo, size_t hi, const int64_t *v, const int64_t *a, const int64_t *b,
                        double f1, double f2, double divide);

/// The residuals of a turnover prediction: out[r] = target[r] − p for r in 0 ..< n, p as in
/// `strata_predict_add` (wrapping subtraction). The writer's side of the same arithmetic.
void strata_predict_residuals(int64_t *out, size_t n, const int64_t *target, const int64_t *v, const int64_t *a,
                              const int64_t *b, double f1, double f2);

/// The decimal check's common case: for i from `lo`, while the double with bits `values[i]` times
/// `p` (10^k) is below 2^51 in magnitude and its nearest integer x gives back exactly those bits as
/// x / p, stores x at `out[i]`. Returns the first i where that does not hold (`n` when none): that
/// value fails the check or needs `ColumnCodec.scaled`'s slow path (large, infinite or NaN). The
/// same arithmetic as `scaled`; with AVX-512 (as above) where the processor has it.
size_t strata_decimal_prefix(const int64_t *values, size_t lo, size_t n, double p, int64_t *out);

/// Unpacks `count` values of `width` bits (0 ... 32), least significant bit first, from `in`, which
/// has `avail` readable bytes (at least ⌈count × width / 8⌉), into `out`; returns the largest.
/// Parquet's bit-packed runs: eight values to `width` bytes, eight at a time with the width a
/// constant where 8 more bytes are readable, bit by bit at the end.
uint32_t strata_unpack32(const uint8_t *in, size_t avail, unsigned width, size_t count, uint32_t *out);

/// The least (`strata_min_i64`) or greatest (`strata_max_i64`) of the `n` ≥ 1 values at `v`.
int64_t strata_min_i64(const int64_t *v, size_t n);
int64_t strata_max_i64(const int64_t *v, size_t n);

/// The sum of the `n` ≤ 2^30 values at `v` split at bit 32: `*high` = Σ (v >> 32) (arithmetic
/// shift) and `*low` = Σ (v AND 0xFFFFFFFF). Neither can overflow; high × 2^32 + low is the sum.
void strata_split_sum_i64(const int64_t *v, size_t n, int64_t *high, int64_t *low);

/// Turns the AVX-512 paths on (those the processor has) or off, and returns which are on: 1 the
/// AVX-512 F, DQ and VL ones (prediction, decimal check, run reductions), 2 the BW and VBMI
/// miniblock kernels (3: both). For tests, which compare them with the scalar paths; on by default.
int strata_use_vector_kernels(int on);

/// Has glibc's allocator keep freed memory for reuse rather than return it to the system after
/// every large free, and its heap given transparent huge pages (no effect with other C libraries).
void strata_keep_freed_memory(void);

/// The processors this process may run on: its affinity mask's (taskset, a container's cpuset),
/// else those online.
int strata_available_processors(void);

/// Sets bit `index` of the bit array `words` (atomically; any thread) and returns 1 when this call
/// set it, 0 when it was set already.
int strata_set_bit_first(uint64_t *words, size_t index);

#endif
