/* The zero-fill shift of Shift2d (course_utils/layers/shift.py) in ONE pass over memory.
 *
 *     out[p, y, x] = in[p, y + dy, x + dx]    (0 where (y + dy, x + dx) is outside the plane)
 *
 * for every plane p of a contiguous (N, C, H, W) tensor; plane p is channel c = p % C, which reads
 * at (dy[c], dx[c]). In the flattened plane (q = y·W + x) that is out[q] = in[q + s] with
 * s = dy·W + dx: one long copy, zeros where q + s falls outside the plane (this covers the top or
 * bottom strip of |dy| rows). The copy also carries, into the |dx| side columns, the pixels that
 * wrapped round from the neighbouring row; zeroing them right after the copy, while the plane
 * (a few kB) is still in the L1 cache, costs no second trip through memory.
 * Items are 4 bytes (float32 as uint32: an exact copy of the bits).
 *
 * Compiled with -fno-tree-loop-distribute-patterns where the compiler has it: gcc would otherwise
 * turn the copy loop into a call to memmove, and glibc's memmove is up to 9x slower when the output
 * sits a few bytes above the input modulo 4 kB (s = -1, with torch's page-aligned tensors): each
 * load waits for the store just before it ("4K aliasing"). The loop as written does not.
 *
 * shift_native.py compiles this file with the system's C compiler on first use, with OpenMP where the
 * compiler has it: `threads` threads then each shift a block of planes, in the OpenMP runtime torch
 * already loaded (libgomp.so.1 in torch's wheels), so they are the threads of torch's own pool.
 * Reference implementation and tests: course_utils/layers/shift.py, tests/test_shift.py (bit for bit).
 */
#include <stdint.h>

static void shift_plane(const uint32_t *restrict in, uint32_t *restrict out, int64_t height, int64_t width,
                        int64_t dy, int64_t dx) {
    int64_t plane = height * width;
    if (dy <= -height || dy >= height || dx <= -width || dx >= width) {   /* every source pixel is outside */
        for (int64_t q = 0; q < plane; q++) out[q] = 0;
        return;
    }
    int64_t s = dy * width + dx;
    int64_t start = s < 0 ? -s : 0, stop = s > 0 ? plane - s : plane;    /* 0 <= q + s < plane */
    for (int64_t q = 0; q < start; q++) out[q] = 0;
    for (int64_t q = start; q < stop; q++) out[q] = in[q + s];
    for (int64_t q = stop; q < plane; q++) out[q] = 0;
    int64_t strip_first = dx > 0 ? width - dx : 0, strip_end = dx > 0 ? width : -dx;   /* side columns */
    for (int64_t x = strip_first; x < strip_end; x++)        /* column by column: one store per row */
        for (int64_t q = x; q < plane; q += width) out[q] = 0;
}

void shift_planes(const uint32_t *in, uint32_t *out, int64_t planes, int64_t channels,
                  int64_t height, int64_t width, const int64_t *dy, const int64_t *dx, int threads) {
    int64_t plane = height * width;
    #pragma omp parallel for num_threads(threads) schedule(static)
    for (int64_t p = 0; p < planes; p++)
        shift_plane(in + p * plane, out + p * plane, height, width, dy[p % channels], dx[p % channels]);
}
