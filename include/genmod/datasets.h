/*
 * genmod/datasets.h — named datasets, the data search path, download lists,
 * SHA-256, and the synthetic 2-D densities.
 *
 * What this is: `gm_dataset_load("binarized-mnist", "train", ...)` finds the
 * files of a named dataset in the search path (GENMOD_DATA, a colon-separated
 * list of directories; default ~/.cache/genmod), reads the split and names
 * it; a registry lists what exists (for `genmod data list`); a fetch list gives
 * the canonical URLs, SHA-256 checksums and target paths of each dataset's
 * files (the CLI downloads them with curl/wget and verifies them here); and
 * seven synthetic 2-D densities from the FFJORD toy_data.py family with their
 * exact (or quadrature) log-densities.
 * What this is not: a downloader (no network code lives in the library).
 * See docs/DATA.md for names, splits, file names and formulas.
 */
#ifndef GENMOD_DATASETS_H
#define GENMOD_DATASETS_H

#include "genmod/data.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ==== Registry ==== */

typedef struct gm_dataset_info {
    const char *name;          /* "binarized-mnist" */
    const char *description;   /* one line */
    const char *splits;        /* "train,valid,test" */
    int64_t n_train, n_valid, n_test; /* rows per split (synthetic: defaults); 0 = split absent/optional */
    int64_t d;                 /* columns */
    int c, h, w;               /* image geometry or 0 0 0 */
    int has_labels;
    int synthetic;             /* 1: generated from a seed, no files */
    const char *how_to_get;    /* one line: where the files come from */
} gm_dataset_info;

int gm_dataset_count(void);
/* i in [0, count); NULL otherwise. */
const gm_dataset_info *gm_dataset_at(int i);
/* By name (aliases accepted, e.g. "moons" for "two-moons"); NULL if unknown. */
const gm_dataset_info *gm_dataset_find(const char *name);

/* ==== Loading by name ==== */

typedef struct gm_data_opts {
    const char *search_path;  /* colon-separated dirs; NULL = $GENMOD_DATA, else ~/.cache/genmod */
    int raw;                  /* image sets: keep 0..255 instead of [0,1] */
    uint64_t seed;            /* synthetic sets: the seed (each split has its own stream) */
    int64_t n;                /* synthetic sets: rows to generate (0 = the split's default) */
} gm_data_opts;

/* Loads split `split` of dataset `name` into *out (opts may be NULL).
 * split is one of the dataset's splits, optionally followed by a row slice
 * "[a:b]" (Python-style, negative counts from the end), e.g. "test[0:9000]".
 * Missing files: GM_ERR_NOTFOUND with a message listing the directories
 * searched, the exact file names expected and how to get them. Unknown name or
 * split: GM_ERR_ARG listing the valid ones. */
gm_status gm_dataset_load(const char *name, const char *split, const gm_data_opts *opts, gm_dataset *out);

/* The effective search path (opts' search_path, else $GENMOD_DATA, else
 * $HOME/.cache/genmod) written into buf. Returns GM_ERR_ARG if it does not fit. */
gm_status gm_data_search_path(const char *search_path, char *buf, size_t cap);

/* The directory downloads go to: the first entry of the effective search path. */
gm_status gm_data_fetch_dir(const char *search_path, char *buf, size_t cap);

/* ==== Download lists and checksums ==== */

typedef struct gm_fetch_file {
    const char *url;      /* canonical URL */
    const char *relpath;  /* target path under the fetch dir, e.g. "mnist/t10k-images-idx3-ubyte.gz" */
    const char *sha256;   /* lowercase hex of the file exactly as downloaded */
    int64_t size;         /* bytes as downloaded */
} gm_fetch_file;

/* The files to download for `name`: *files points to a static table of *n
 * entries. Returns GM_ERR_ARG for an unknown name and GM_ERR_UNSUPPORTED for
 * one with nothing to download (synthetic sets). */
gm_status gm_dataset_fetch_list(const char *name, const gm_fetch_file **files, int *n);

typedef struct gm_sha256 {
    uint32_t h[8];
    uint64_t nbytes;
    uint8_t buf[64];
    size_t nbuf;
} gm_sha256;

void gm_sha256_init(gm_sha256 *s);
void gm_sha256_update(gm_sha256 *s, const void *data, size_t n);
void gm_sha256_final(gm_sha256 *s, uint8_t digest[32]);
/* Lowercase hex digest of a buffer (hex has room for 65 chars). */
void gm_sha256_hex(const void *data, size_t n, char hex[65]);
/* Hex digest of a file's bytes (as stored, no decompression). */
gm_status gm_sha256_file(const char *path, char hex[65]);
/* GM_OK if the file's SHA-256 equals expected_hex (case-insensitive), else
 * GM_ERR_FORMAT "file: sha256 mismatch: got ..., expected ...". */
gm_status gm_verify_sha256(const char *path, const char *expected_hex);

/* ==== Synthetic 2-D densities ==== */

typedef enum gm_toy2d {
    GM_TOY_MOONS = 0,        /* "two-moons" */
    GM_TOY_8GAUSSIANS = 1,   /* "8gaussians" */
    GM_TOY_CHECKERBOARD = 2, /* "checkerboard" */
    GM_TOY_PINWHEEL = 3,     /* "pinwheel" */
    GM_TOY_2SPIRALS = 4,     /* "2spirals" */
    GM_TOY_SWISSROLL = 5,    /* "swissroll" */
    GM_TOY_RINGS = 6,        /* "rings" */
    GM_TOY_COUNT = 7
} gm_toy2d;

/* Kind for a name (aliases "moons", "8gauss"); -1 if unknown. */
int gm_toy2d_from_name(const char *name);
const char *gm_toy2d_name(gm_toy2d kind);

/* Draws n i.i.d. points into x (n, 2); labels (n) gets the mixture component
 * (moon, centre, arm, spiral, ring; 0 for checkerboard and swissroll) when
 * not NULL. Returns GM_ERR_ARG for a bad kind or n < 0. */
gm_status gm_toy2d_sample(gm_toy2d kind, gm_rng *r, int64_t n, float *x, int64_t *labels);

/* 1 if gm_toy2d_logpdf is available for kind: exact closed form for
 * checkerboard, 8gaussians and rings (Bessel I0); 1-D Gauss-Legendre
 * quadrature over the generating curve (relative error < 1e-9) for two-moons,
 * 2spirals and swissroll; none for pinwheel. */
int gm_toy2d_has_logpdf(gm_toy2d kind);

/* log p(x) of the generator's true density for each of n points x (n, 2)
 * into out (n), in double (-inf outside the support). GM_ERR_UNSUPPORTED
 * where there is none. */
gm_status gm_toy2d_logpdf(gm_toy2d kind, const float *x, int64_t n, double *out);

/* Differential entropy in nats: exact for checkerboard (ln 32); otherwise
 * -∫ p log p by a midpoint grid (step sd/3) over the support +- 10 sd, which
 * for these smooth densities is accurate to < 1e-9 (takes up to ~0.2 s).
 * Values: 8gaussians 2.83188, rings 2.62318, two-moons 2.39388, swissroll
 * 2.66965. GM_ERR_UNSUPPORTED where there is no log-density. */
gm_status gm_toy2d_entropy(gm_toy2d kind, double *h);

/* Reference NLL of a 2-D density without trusting any model: a Gaussian KDE
 * of the n_ref points ref (n_ref, 2) (grid-binned, 1024^2 cells), its
 * bandwidth chosen from a fixed list (0.01 .. 0.2) by the mean NLL of valid
 * (n_valid, 2), then the mean NLL (nats) and standard error on test
 * (n_test, 2). *bandwidth gets the chosen bandwidth. (src/data/kde2d.c) */
gm_status gm_kde2d_nll(const float *ref, int64_t n_ref, const float *valid, int64_t n_valid, const float *test,
                       int64_t n_test, double *bandwidth, double *nll, double *se);

#ifdef __cplusplus
}
#endif
#endif
