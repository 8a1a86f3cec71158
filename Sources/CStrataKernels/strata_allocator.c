// The C allocator's tuning for the command-line tool (malloc.h is not visible from Swift's Glibc
// module), the processors the process may run on (CPU_COUNT is a macro Swift cannot call), and an
// atomic operation on memory Swift allocated (its Atomic type lives only in its own storage).
// Called only from Sources/Strata/Platform/System.swift.
#define _GNU_SOURCE
#include "strata_kernels.h"
#include <unistd.h>
#if defined(__linux__)
#include <sched.h>
#endif

int strata_available_processors(void) {
#if defined(__linux__)
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) {
        int n = CPU_COUNT(&set);
        if (n > 0) return n;
    }
#endif
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int strata_set_bit_first(uint64_t *words, size_t index) {
    uint64_t bit = (uint64_t)1 << (index & 63);
    uint64_t *word = words + (index >> 6);
    // A relaxed look first: once set, a bit is only read, and the word's cache line stays shared.
    if (__atomic_load_n(word, __ATOMIC_RELAXED) & bit) return 0;
    return (__atomic_fetch_or(word, bit, __ATOMIC_RELAXED) & bit) == 0;
}

#if defined(__GLIBC__)
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

// The block kept from the heap's top to its first 2 MB boundary (the compiler removes a malloc
// whose result goes unused).
static void *volatile strata_heap_gap;

void strata_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // blocks up to 32 MB from the heap, not a mapping each
    mallopt(M_TRIM_THRESHOLD, 512 << 20); // give the heap's top back only past 512 MB
    mallopt(M_TOP_PAD, 64 << 20);         // and grow it 64 MB at a time
#if defined(MADV_HUGEPAGE)
    // Grow the heap now (a block and the pad) and ask for transparent huge pages across it. Here
    // a fresh 4 KB page costs a fault of about 1.8 us, a 2 MB one about 150 us (a sixth as much a
    // byte), and a fresh process's heap is all fresh pages.
    //
    // A 2 MB piece with one small page mapped stays small pages, so the pieces are advised before
    // anything is written in them: the growth's only write, the heap top's header after the block,
    // lands 16 MB along (one piece there stays small), and the block from the top to the first
    // boundary is kept, so that the next allocations start on it rather than in small pages.
    const size_t grown = 16 << 20;
    const uintptr_t piece = (uintptr_t)2 << 20;
    char *block = malloc(grown);
    if (block == NULL) return;
    uintptr_t start = ((uintptr_t)block + piece - 1) & ~(piece - 1);
    uintptr_t end = (uintptr_t)sbrk(0) & ~(piece - 1);
    free(block);
    if (end <= start || madvise((void *)start, end - start, MADV_HUGEPAGE) != 0) return;
    size_t gap = start - (uintptr_t)block;
    if (gap > 64) strata_heap_gap = malloc(gap - 32);  // its chunk ends just before `start`
#endif
}
#else
void strata_keep_freed_memory(void) {}
#endif
