/*
 * fuzz_png.c — libFuzzer harness for the PNG reader (from memory): decoded
 * images must have consistent sizes; every pixel is touched.
 */
#include "genmod/png.h"
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gm_png_image img;
    if (gm_png_read_mem(data, size, "fuzz.png", &img) != GM_OK) return 0;
    if (img.width < 1 || img.height < 1 || img.channels < 1 || img.channels > 4) __builtin_trap();
    volatile unsigned sum = 0;
    size_t n = (size_t)img.width * (size_t)img.height * (size_t)img.channels;
    for (size_t i = 0; i < n; i++) sum += img.pixels[i];
    (void)sum;
    gm_png_image_free(&img);
    return 0;
}
