/*
 * genmod/data.h — dataset splits, file readers, transforms, minibatch iterator.
 *
 * What this is: the in-memory form of one dataset split (a dense float32
 * matrix (N, D) plus optional int64 labels and image geometry), readers for the
 * file formats the datasets come in (.amat, MNIST idx, .npy, CSV; each plain or
 * gzip, detected by the magic bytes 1f 8b, never by the file name), in-place
 * transforms (binarization, dequantization, logit, affine) and a seeded,
 * resumable minibatch iterator.
 * What this is not: dataset names, search paths and downloads (see
 * genmod/datasets.h), or model-side preprocessing.
 *
 * Every reader bounds-checks the whole file: a truncated, hostile or malformed
 * file returns GM_ERR_FORMAT (GM_ERR_IO / GM_ERR_NOTFOUND when it cannot be
 * read at all) with a one-line message naming the file's base name and the
 * problem, e.g. "binarized_mnist_test.amat.gz: line 17 has 783 values,
 * expected 784". Allocations are bounded by the bytes actually present, never
 * by sizes a header claims. The *_mem variants parse a buffer (gzip or plain)
 * and use `name` in messages; they are what the fuzz harnesses drive.
 */
#ifndef GENMOD_DATA_H
#define GENMOD_DATA_H

#include <stddef.h>
#include <stdint.h>
#include "genmod/error.h"
#include "genmod/rng.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Dataset split ==== */

#define GM_DATASET_NAME_MAX 64

typedef struct gm_dataset {
    int64_t n, d;                   /* rows, columns */
    float *x;                       /* (n, d) row-major */
    int64_t *y;                     /* (n) labels, or NULL */
    int c, h, w;                    /* image geometry with c*h*w == d, or 0 0 0 */
    char name[GM_DATASET_NAME_MAX]; /* "binarized-mnist:train" or the file's base name */
} gm_dataset;

/* Allocates a zero-filled (n, d) split (labels too when with_labels), no
 * geometry. n >= 0, d >= 1. Returns GM_ERR_ARG / GM_ERR_NOMEM; on error *ds is
 * left empty (all zero). */
gm_status gm_dataset_alloc(gm_dataset *ds, int64_t n, int64_t d, int with_labels);

/* Frees x and y and zeroes the struct. NULL and already-freed are fine. */
void gm_dataset_free(gm_dataset *ds);

/* Copies rows [start, start+count) of src (x, y, geometry) into a new split
 * *out. Returns GM_ERR_ARG if the range is outside src. */
gm_status gm_dataset_slice(const gm_dataset *src, int64_t start, int64_t count, gm_dataset *out);

/* ==== Readers ==== */

/* Reader options. A zero-filled struct (or NULL) means the defaults. */
typedef struct gm_read_opts {
    int binary;        /* amat/csv: every value must be exactly 0 or 1 */
    int raw;           /* idx / npy uint8 images: keep 0..255 instead of scaling by 1/255 */
    int csv_header;    /* csv: 0 auto-detect (non-numeric first row), 1 has a header, -1 none */
    int csv_label_col; /* csv: 1-based column holding integer labels (moved to y); 0 = none */
    size_t max_bytes;  /* cap on the (decompressed) file size; 0 = GM_DATA_MAX_BYTES */
} gm_read_opts;

#define GM_DATA_MAX_BYTES ((size_t)4 << 30) /* 4 GiB */
#define GM_IDX_MAX_ELEMS 100000000LL        /* product of idx dims (1e8) */

/* Larochelle .amat: one row per line, whitespace-separated numbers; all rows
 * the same length; values finite (and in {0,1} with opts->binary). Trailing
 * blank lines are allowed, blank lines between rows are not. */
gm_status gm_read_amat(const char *path, const gm_read_opts *opts, gm_dataset *out);
gm_status gm_read_amat_mem(const void *buf, size_t len, const char *name, const gm_read_opts *opts, gm_dataset *out);

/* MNIST idx images: magic 0x00000803 (uint8, 3-D), big-endian dims N, H, W.
 * x is (N, H*W), c=1, geometry H x W, values scaled to [0,1] (0..255 with
 * opts->raw). The data must be exactly N*H*W bytes (short: truncated; longer:
 * trailing data), 0 < N*H*W <= GM_IDX_MAX_ELEMS. */
gm_status gm_read_idx_images(const char *path, const gm_read_opts *opts, gm_dataset *out);
gm_status gm_read_idx_images_mem(const void *buf, size_t len, const char *name, const gm_read_opts *opts,
                                 gm_dataset *out);

/* MNIST idx labels: magic 0x00000801 (uint8, 1-D), N labels. *labels is
 * malloc'd (N) (caller frees); *n = N. */
gm_status gm_read_idx_labels(const char *path, int64_t **labels, int64_t *n);
gm_status gm_read_idx_labels_mem(const void *buf, size_t len, const char *name, int64_t **labels, int64_t *n);

/* Images + labels (labels_path may be NULL): checks both have the same N. */
gm_status gm_read_mnist(const char *images_path, const char *labels_path, const gm_read_opts *opts,
                        gm_dataset *out);

/* .npy arrays (format versions 1.0, 2.0, 3.0). Supported dtypes: '<f4',
 * '<f8', '|u1' (also written '<u1'), '<i8'. C order only (fortran_order True
 * is an error), 0 to 4 dims, header dict parsed strictly (exactly the keys
 * descr, fortran_order, shape), data size must equal what the shape needs. */
typedef enum gm_npy_dtype { GM_NPY_F4 = 0, GM_NPY_F8 = 1, GM_NPY_U1 = 2, GM_NPY_I8 = 3 } gm_npy_dtype;

typedef struct gm_npy {
    gm_npy_dtype dtype;         /* dtype stored in the file */
    int ndim;                   /* 0..4 */
    int64_t shape[4];           /* unused trailing dims are 1 */
    int64_t numel;
    float *f;                   /* (numel) values as float32 (u1: 0..255), always set */
    int64_t *i;                 /* (numel) exact integers for u1 / i8, else NULL */
} gm_npy;

gm_status gm_read_npy(const char *path, gm_npy *out);
gm_status gm_read_npy_mem(const void *buf, size_t len, const char *name, gm_npy *out);
void gm_npy_free(gm_npy *a);

/* A split from .npy files: x of shape (N,), (N, D), (N, H, W) -> c=1, or
 * (N, C, H, W); y_path (may be NULL) a 1-D integer array (u1 or i8) of length
 * N. uint8 x is scaled to [0,1] unless opts->raw. D (the product of the
 * dims after N) must be in [1, 2^31], also when N = 0. */
gm_status gm_dataset_from_npy(const char *x_path, const char *y_path, const gm_read_opts *opts, gm_dataset *out);

/* CSV of numbers: comma-separated, optional header row (auto-detected when
 * the first row has a non-numeric field), every row the same column count,
 * values finite; fields may be surrounded by spaces or double quotes. Errors
 * name the line and 1-based column. */
gm_status gm_read_csv(const char *path, const gm_read_opts *opts, gm_dataset *out);
gm_status gm_read_csv_mem(const void *buf, size_t len, const char *name, const gm_read_opts *opts, gm_dataset *out);

/* ==== Transforms (in place; see docs/DATA.md for the formulas) ==== */

/* Stochastic binarization: x[i] <- 1 with probability x[i] (clamped to
 * [0,1]), else 0. Draws one uniform per element from r. */
void gm_binarize(float *x, int64_t n, gm_rng *r);

/* Same, reproducible per row and epoch: row `row` of epoch `epoch` uses its
 * own stream derived from (seed, epoch, row), so the result does not depend on
 * batch composition or order. x is one row (d values). */
void gm_binarize_row(float *x, int64_t d, uint64_t seed, int64_t epoch, int64_t row);

/* Uniform dequantization of 8-bit data: k = round(x * (scaled01 ? 255 : 1))
 * clamped to 0..255, x <- (k + u) / 256 with u ~ U[0,1). */
void gm_dequantize(float *x, int64_t n, int scaled01, gm_rng *r);

/* Logit transform of data in [0,1], row-wise over (rows, d):
 *   s = alpha + (1 - 2 alpha) x,  y = log s - log(1 - s)
 *   logdet[r] += sum_j [log(1 - 2 alpha) - log s_j - log(1 - s_j)]
 * (logdet may be NULL; it is accumulated with +=, in double).
 * 0 <= alpha < 0.5; alpha = 0 needs x strictly inside (0,1).
 * Returns GM_ERR_ARG for a bad alpha. */
gm_status gm_logit_transform(float *x, int64_t rows, int64_t d, double alpha, double *logdet);

/* Inverse: x = (sigmoid(y) - alpha) / (1 - 2 alpha); logdet[r] += the
 * log-determinant of this inverse map (= minus the forward one). */
gm_status gm_logit_inverse(float *y, int64_t rows, int64_t d, double alpha, double *logdet);

/* Affine map x <- scale * x + shift; logdet[r] += d * log|scale|.
 * Returns GM_ERR_ARG if scale is 0 or not finite. */
gm_status gm_affine_transform(float *x, int64_t rows, int64_t d, double scale, double shift, double *logdet);

/* ==== Minibatch iterator ==== */

/* Everything needed to resume: which epoch, which position in that epoch's
 * order, and the seed the orders derive from. Save it in a training state. */
typedef struct gm_loader_state {
    int64_t epoch;     /* 0-based */
    int64_t pos;       /* rows of this epoch already returned */
    uint64_t seed;
} gm_loader_state;

typedef struct gm_loader_opts {
    int shuffle;       /* 1: a fresh seeded permutation every epoch; 0: file order */
    int drop_last;     /* 1: skip the final partial batch of an epoch */
    int binarize;      /* 1: dynamic binarization of each returned row (gm_binarize_row) */
    uint64_t seed;
} gm_loader_opts;

typedef struct gm_loader {
    const gm_dataset *ds; /* borrowed; must outlive the loader */
    int64_t batch;
    gm_loader_opts opts;
    gm_loader_state st;
    int64_t *perm;        /* (n) order of the current epoch (NULL without shuffle) */
    int64_t perm_epoch;   /* epoch perm was built for */
} gm_loader;

/* Sets up a loader over ds with batch size B >= 1 (opts NULL = no shuffle,
 * keep last, seed 0). Starts at epoch 0, position 0. */
gm_status gm_loader_init(gm_loader *L, const gm_dataset *ds, int64_t batch, const gm_loader_opts *opts);
void gm_loader_free(gm_loader *L);

/* Copies the next batch into x (B, D) and, if y and the split has labels, y
 * (B). Returns the number of rows written (B, or fewer for a final partial
 * batch), or 0 when the epoch is over: the state then moves to the next epoch
 * (new permutation) and the next call returns its first batch. Never
 * allocates (except the permutation once per epoch when shuffling). */
int64_t gm_loader_next(gm_loader *L, float *x, int64_t *y);

/* Batches per epoch (counting the partial one unless drop_last). */
int64_t gm_loader_batches_per_epoch(const gm_loader *L);

gm_loader_state gm_loader_get_state(const gm_loader *L);
/* Resumes at a saved state: the following batches are identical to those the
 * saving loader would have produced. Returns GM_ERR_ARG if pos is out of range. */
gm_status gm_loader_set_state(gm_loader *L, gm_loader_state st);

#ifdef __cplusplus
}
#endif
#endif
