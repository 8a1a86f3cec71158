// The C allocator's tuning for the command-line tool (malloc.h is not visible from Swift's Glibc
// module). Called only from Sources/Strata/Platform/System.swift (System.keepFreedMemory).
#include "strata_kernels.h"

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
