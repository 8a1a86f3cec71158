// The C allocator's tuning for the command-line tool (malloc.h is not visible from Swift's Glibc
// module), and the processors the process may run on (CPU_COUNT is a macro Swift cannot call).
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

#if defined(__GLIBC__)
#include <malloc.h>

void strata_keep_freed_memory(void) {
    mallopt(M_MMAP_THRESHOLD, 32 << 20);  // blocks up to 32 MB from the heap, not a mapping each
    mallopt(M_TRIM_THRESHOLD, 512 << 20); // give the heap's top back only past 512 MB
    mallopt(M_TOP_PAD, 64 << 20);         // and grow it 64 MB at a time
}
#else
void strata_keep_freed_memory(void) {}
#endif
