/*
 * registry.c — named datasets: the registry, the search path, loading a
 * split by name (with an optional "[a:b]" row slice), and the download lists.
 *
 * Where files are looked for: each directory of the search path
 * (GENMOD_DATA, colon-separated; default ~/.cache/genmod) plus, for
 * fashion-mnist only, the Debian package's /usr/share/datasets/fashion-mnist.
 * Under a search directory every dataset has its own subdirectory named like
 * the dataset. Not here: the readers themselves (read_*.c) or downloading
 * (the CLI runs curl/wget and checks gm_verify_sha256).
 */
#include "genmod/datasets.h"
#include "data/data_internal.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOY(nm, desc, lab) \
    {nm, desc, "train,valid,test", 50000, 10000, 10000, 2, 0, 0, 0, lab, 1, "synthetic (generated from --seed)"}

static const gm_dataset_info registry[] = {
    {"binarized-mnist", "MNIST digits, fixed binarization of Larochelle & Murray (2011), 28x28 in {0,1}",
     "train,valid,test", 50000, 10000, 10000, 784, 1, 28, 28, 0, 0,
     "`genmod data fetch binarized-mnist` (online)"},
    {"mnist", "MNIST digits, 28x28 grey levels scaled to [0,1], labels 0-9 (train/valid need the train files)",
     "train,valid,test,trainval", 55000, 5000, 10000, 784, 1, 28, 28, 1, 0, "`genmod data fetch mnist` (online)"},
    {"fashion-mnist", "Fashion-MNIST clothing images, 28x28 grey levels scaled to [0,1], labels 0-9",
     "train,valid,test,trainval", 55000, 5000, 10000, 784, 1, 28, 28, 1, 0,
     "`apt-get install dataset-fashion-mnist`, or `genmod data fetch fashion-mnist` (online)"},
    TOY("two-moons", "2-D: two interleaved half circles, Gaussian noise 0.2 (FFJORD moons)", 1),
    TOY("8gaussians", "2-D: 8 Gaussians (std 0.354) on a circle of radius 2.83 (FFJORD)", 1),
    TOY("checkerboard", "2-D: uniform on 8 of the 16 2x2 squares of [-4,4]^2 (FFJORD); entropy ln 32", 0),
    TOY("pinwheel", "2-D: 5 curved arms (FFJORD pinwheel)", 1),
    TOY("2spirals", "2-D: two interleaved spirals (FFJORD)", 1),
    TOY("swissroll", "2-D: swiss roll (x, z) / 5 with noise 0.2 (FFJORD)", 0),
    TOY("rings", "2-D: 4 concentric rings of radius 0.75-3, noise 0.08 (FFJORD)", 1),
};
#define N_REG ((int)(sizeof registry / sizeof registry[0]))

int gm_dataset_count(void) { return N_REG; }

const gm_dataset_info *gm_dataset_at(int i) { return i >= 0 && i < N_REG ? &registry[i] : NULL; }

const gm_dataset_info *gm_dataset_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < N_REG; i++)
        if (!strcmp(registry[i].name, name)) return &registry[i];
    int t = gm_toy2d_from_name(name); /* aliases */
    return t >= 0 ? gm_dataset_find(gm_toy2d_name((gm_toy2d)t)) : NULL;
}

/* ==== search path ==== */

gm_status gm_data_search_path(const char *search_path, char *buf, size_t cap) {
    const char *sp = search_path && search_path[0] ? search_path : getenv("GENMOD_DATA");
    int n;
    if (sp && sp[0]) n = snprintf(buf, cap, "%s", sp);
    else {
        const char *home = getenv("HOME");
        if (!home || !home[0]) return gm_error(GM_ERR_ARG, "data search path: HOME is not set; set GENMOD_DATA");
        n = snprintf(buf, cap, "%s/.cache/genmod", home);
    }
    if (n < 0 || (size_t)n >= cap) return gm_error(GM_ERR_ARG, "data search path is too long");
    return GM_OK;
}

#define MAX_DIRS 16
typedef struct { char path[4096]; char *dir[MAX_DIRS]; int n; } dirlist;

/* Splits the effective search path at ':' (empty entries skipped, "~/" expanded). */
static gm_status search_dirs(const char *search_path, dirlist *dl) {
    char raw[4096];
    gm_status st = gm_data_search_path(search_path, raw, sizeof raw);
    if (st != GM_OK) return st;
    const char *home = getenv("HOME");
    size_t w = 0;
    dl->n = 0;
    for (char *tok = raw, *end; tok; tok = end ? end + 1 : NULL) {
        end = strchr(tok, ':');
        if (end) *end = '\0';
        if (!tok[0]) continue;
        if (dl->n == MAX_DIRS) return gm_error(GM_ERR_ARG, "data search path: more than %d directories", MAX_DIRS);
        int k = (tok[0] == '~' && tok[1] == '/' && home)
                    ? snprintf(dl->path + w, sizeof dl->path - w, "%s%s", home, tok + 1)
                    : snprintf(dl->path + w, sizeof dl->path - w, "%s", tok);
        if (k < 0 || (size_t)k >= sizeof dl->path - w) return gm_error(GM_ERR_ARG, "data search path is too long");
        dl->dir[dl->n++] = dl->path + w;
        w += (size_t)k + 1;
    }
    if (dl->n == 0) return gm_error(GM_ERR_ARG, "data search path is empty");
    return GM_OK;
}

gm_status gm_data_fetch_dir(const char *search_path, char *buf, size_t cap) {
    dirlist dl;
    gm_status st = search_dirs(search_path, &dl);
    if (st != GM_OK) return st;
    int n = snprintf(buf, cap, "%s", dl.dir[0]);
    return n < 0 || (size_t)n >= cap ? gm_error(GM_ERR_ARG, "data directory name is too long") : GM_OK;
}

/* Looks for base (+ ".gz" first, then plain) in dir/sub for every dir, then
 * in the extra dir (no sub) if given. Returns 1 and the path when found. */
static int find_file(const dirlist *dl, const char *sub, const char *extra, const char *base, char *out, size_t cap) {
    for (int i = 0; i <= dl->n; i++) {
        const char *d = i < dl->n ? dl->dir[i] : extra;
        if (!d) continue;
        for (int gz = 1; gz >= 0; gz--) {
            int k = i < dl->n ? snprintf(out, cap, "%s/%s/%s%s", d, sub, base, gz ? ".gz" : "")
                              : snprintf(out, cap, "%s/%s%s", d, base, gz ? ".gz" : "");
            if (k > 0 && (size_t)k < cap && access(out, R_OK) == 0) return 1;
        }
    }
    return 0;
}

/* "dir1, dir2" for messages */
static void dirs_text(const dirlist *dl, const char *extra, char *buf, size_t cap) {
    size_t w = 0;
    buf[0] = '\0';
    for (int i = 0; i <= dl->n && w < cap; i++) {
        const char *d = i < dl->n ? dl->dir[i] : extra;
        if (!d) continue;
        int k = snprintf(buf + w, cap - w, "%s%s", w ? ", " : "", d);
        if (k < 0) break;
        w += (size_t)k;
    }
}

static gm_status missing(const char *name, const char *split, const char *files, const dirlist *dl, const char *extra,
                         const char *how) {
    char dirs[600];
    dirs_text(dl, extra, dirs, sizeof dirs);
    return gm_error(GM_ERR_NOTFOUND,
                    "%s split '%s': not found: looked for %s (plain or .gz) in %s (search path: GENMOD_DATA, "
                    "colon-separated, default ~/.cache/genmod); get it with %s",
                    name, split, files, dirs, how);
}

/* ==== split names and slices ==== */

typedef struct { char base[16]; int has_slice; int64_t a, b; int a_set, b_set; } split_spec;

static gm_status parse_split(const char *split, split_spec *sp) {
    memset(sp, 0, sizeof *sp);
    const char *br = strchr(split, '[');
    size_t bl = br ? (size_t)(br - split) : strlen(split);
    if (bl == 0 || bl >= sizeof sp->base) return gm_error(GM_ERR_ARG, "split '%s': bad name", split);
    memcpy(sp->base, split, bl);
    if (!br) return GM_OK;
    sp->has_slice = 1;
    const char *p = br + 1;
    char *e;
    if (*p != ':') { sp->a = strtoll(p, &e, 10); if (e == p) goto bad; sp->a_set = 1; p = e; }
    if (*p != ':') goto bad;
    p++;
    if (*p != ']') { sp->b = strtoll(p, &e, 10); if (e == p) goto bad; sp->b_set = 1; p = e; }
    if (p[0] != ']' || p[1] != '\0') goto bad;
    return GM_OK;
bad:
    return gm_error(GM_ERR_ARG, "split '%s': expected NAME or NAME[a:b] (e.g. test[0:9000])", split);
}

/* Python slice bounds -> [start, start+count) of n rows */
static gm_status apply_slice(const split_spec *sp, const char *split, gm_dataset *ds) {
    if (!sp->has_slice) return GM_OK;
    int64_t n = ds->n, a = sp->a_set ? sp->a : 0, b = sp->b_set ? sp->b : n;
    if (a < 0) a += n;
    if (b < 0) b += n;
    if (a < 0 || b > n || a > b) {
        gm_status st = gm_error(GM_ERR_ARG, "split '%s': rows outside 0..%lld of %s", split, (long long)n, ds->name);
        gm_dataset_free(ds);
        return st;
    }
    gm_dataset sub;
    gm_status st = gm_dataset_slice(ds, a, b - a, &sub);
    gm_dataset_free(ds);
    if (st != GM_OK) return st;
    *ds = sub;
    return GM_OK;
}

/* ==== loaders per family ==== */

#define HOLDOUT 5000 /* mnist / fashion-mnist: last 5000 training images = "valid" */

static gm_status check_geometry(gm_dataset *ds, const char *path) {
    if (ds->d == 784 && ds->h == 28 && ds->w == 28) return GM_OK;
    gm_status st =
        gm_error(GM_ERR_FORMAT, "%s: images are %dx%d, expected 28x28", gm_data_basename(path), ds->h, ds->w);
    gm_dataset_free(ds);
    return st;
}

static gm_status load_idx_pair(const char *name, const char *split, const char *prefix, const dirlist *dl,
                               const char *extra, const char *how, const gm_data_opts *o, gm_dataset *out) {
    char img[4200], lab[4200], bi[64], bl[64];
    snprintf(bi, sizeof bi, "%s-images-idx3-ubyte", prefix);
    snprintf(bl, sizeof bl, "%s-labels-idx1-ubyte", prefix);
    if (!find_file(dl, name, extra, bi, img, sizeof img) || !find_file(dl, name, extra, bl, lab, sizeof lab)) {
        char files[200];
        snprintf(files, sizeof files, "%s/%s and %s/%s", name, bi, name, bl);
        return missing(name, split, files, dl, extra, how);
    }
    gm_read_opts ro = {0};
    ro.raw = o->raw;
    gm_status st = gm_read_mnist(img, lab, &ro, out);
    if (st != GM_OK) return st;
    return check_geometry(out, img);
}

static gm_status load_images(const char *name, const split_spec *sp, const char *split, const dirlist *dl,
                             const gm_data_opts *o, gm_dataset *out) {
    int fashion = !strcmp(name, "fashion-mnist");
    const char *extra = fashion ? "/usr/share/datasets/fashion-mnist" : NULL;
    const char *how = fashion ? "`apt-get install dataset-fashion-mnist` or `genmod data fetch fashion-mnist`"
                              : "`genmod data fetch mnist` (only the 10k test set may be available offline: "
                                "split test, slices like test[0:9000] work)";
    if (!strcmp(sp->base, "test")) return load_idx_pair(name, split, "t10k", dl, extra, how, o, out);
    int tr = !strcmp(sp->base, "train"), va = !strcmp(sp->base, "valid"), tv = !strcmp(sp->base, "trainval");
    if (!tr && !va && !tv)
        return gm_error(GM_ERR_ARG, "%s: unknown split '%s' (train, valid, test, trainval)", name, sp->base);
    gm_dataset all;
    gm_status st = load_idx_pair(name, split, "train", dl, extra, how, o, &all);
    if (st != GM_OK) return st;
    if (tv) { *out = all; return GM_OK; }
    if (all.n <= HOLDOUT) {
        st = gm_error(GM_ERR_FORMAT, "%s: training file has %lld images, need more than %d for the valid holdout",
                      name, (long long)all.n, HOLDOUT);
        gm_dataset_free(&all);
        return st;
    }
    st = tr ? gm_dataset_slice(&all, 0, all.n - HOLDOUT, out) : gm_dataset_slice(&all, all.n - HOLDOUT, HOLDOUT, out);
    gm_dataset_free(&all);
    return st;
}

static gm_status load_binarized(const split_spec *sp, const char *split, const dirlist *dl, gm_dataset *out) {
    if (strcmp(sp->base, "train") && strcmp(sp->base, "valid") && strcmp(sp->base, "test"))
        return gm_error(GM_ERR_ARG, "binarized-mnist: unknown split '%s' (train, valid, test)", sp->base);
    char base[64], path[4200];
    snprintf(base, sizeof base, "binarized_mnist_%s.amat", sp->base);
    if (!find_file(dl, "binarized-mnist", NULL, base, path, sizeof path)) {
        char files[100];
        snprintf(files, sizeof files, "binarized-mnist/%s", base);
        return missing("binarized-mnist", split, files, dl, NULL, "`genmod data fetch binarized-mnist` (online)");
    }
    gm_read_opts ro = {0};
    ro.binary = 1;
    gm_status st = gm_read_amat(path, &ro, out);
    if (st != GM_OK) return st;
    if (out->d != 784) {
        st = gm_error(GM_ERR_FORMAT, "%s: rows have %lld values, expected 784", gm_data_basename(path),
                      (long long)out->d);
        gm_dataset_free(out);
        return st;
    }
    out->c = 1; out->h = 28; out->w = 28;
    return GM_OK;
}

static gm_status load_toy(gm_toy2d kind, const gm_dataset_info *info, const split_spec *sp, const gm_data_opts *o,
                          gm_dataset *out) {
    int idx = !strcmp(sp->base, "train") ? 0 : !strcmp(sp->base, "valid") ? 1 : !strcmp(sp->base, "test") ? 2 : -1;
    if (idx < 0) return gm_error(GM_ERR_ARG, "%s: unknown split '%s' (train, valid, test)", info->name, sp->base);
    int64_t def[3] = {info->n_train, info->n_valid, info->n_test};
    int64_t n = o->n > 0 ? o->n : def[idx];
    gm_status st = gm_dataset_alloc(out, n, 2, info->has_labels);
    if (st != GM_OK) return st;
    gm_rng r;
    gm_rng_seed(&r, o->seed, 0x746F793244000000ull + (uint64_t)idx); /* "toy2D" + split: independent splits */
    return gm_toy2d_sample(kind, &r, n, out->x, out->y);
}

gm_status gm_dataset_load(const char *name, const char *split, const gm_data_opts *opts, gm_dataset *out) {
    memset(out, 0, sizeof *out);
    gm_data_opts o = {0};
    if (opts) o = *opts;
    const gm_dataset_info *info = gm_dataset_find(name);
    if (!info) {
        char names[400];
        size_t w = 0;
        names[0] = '\0';
        for (int i = 0; i < N_REG && w < sizeof names; i++) {
            int k = snprintf(names + w, sizeof names - w, "%s%s", i ? ", " : "", registry[i].name);
            if (k < 0) break;
            w += (size_t)k;
        }
        return gm_error(GM_ERR_ARG, "dataset '%s' is unknown (known: %s)", name ? name : "(null)", names);
    }
    split_spec sp;
    gm_status st = parse_split(split ? split : "", &sp);
    if (st != GM_OK) return st;
    if (info->synthetic) {
        st = load_toy((gm_toy2d)gm_toy2d_from_name(info->name), info, &sp, &o, out);
    } else {
        dirlist dl;
        if ((st = search_dirs(o.search_path, &dl)) != GM_OK) return st;
        if (!strcmp(info->name, "binarized-mnist")) st = load_binarized(&sp, split, &dl, out);
        else st = load_images(info->name, &sp, split, &dl, &o, out);
    }
    if (st != GM_OK) { gm_dataset_free(out); return st; }
    snprintf(out->name, sizeof out->name, "%s:%s", info->name, sp.base);
    if ((st = apply_slice(&sp, split, out)) != GM_OK) return st;
    snprintf(out->name, sizeof out->name, "%s:%s", info->name, split);
    return GM_OK;
}

/* ==== download lists ==== */
/* Checksums: binarized MNIST and MNIST as recorded by TensorFlow Datasets'
 * url_checksums (binarized_mnist.txt, mnist.txt), and checked here against the
 * copies in /work/shared/data (the decompressed .amat files and the t10k
 * files match byte for byte); Fashion-MNIST from the same source
 * (fashion_mnist.txt). */

#define LAROCHELLE "http://www.cs.toronto.edu/~larocheh/public/datasets/binarized_mnist/"
#define OSSCI "https://ossci-datasets.s3.amazonaws.com/mnist/"
#define ZALANDO "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"

static const gm_fetch_file fetch_bmnist[] = {
    {LAROCHELLE "binarized_mnist_train.amat", "binarized-mnist/binarized_mnist_train.amat",
     "ad693b29f94c14277b095f5238ddefbbdaaae0939789dd2f4f0205278cee3e4d", 78400000},
    {LAROCHELLE "binarized_mnist_valid.amat", "binarized-mnist/binarized_mnist_valid.amat",
     "1de3d397c40fe8eeb33dafd4099a1f665ec01e96d9be234aaeeac8a34930e2e2", 15680000},
    {LAROCHELLE "binarized_mnist_test.amat", "binarized-mnist/binarized_mnist_test.amat",
     "e6687bfea3f820c174f33b7865140b2a2dd2930ef786f35d45795fc193b5ab2c", 15680000},
};
static const gm_fetch_file fetch_mnist[] = {
    {OSSCI "train-images-idx3-ubyte.gz", "mnist/train-images-idx3-ubyte.gz",
     "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 9912422},
    {OSSCI "train-labels-idx1-ubyte.gz", "mnist/train-labels-idx1-ubyte.gz",
     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 28881},
    {OSSCI "t10k-images-idx3-ubyte.gz", "mnist/t10k-images-idx3-ubyte.gz",
     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 1648877},
    {OSSCI "t10k-labels-idx1-ubyte.gz", "mnist/t10k-labels-idx1-ubyte.gz",
     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 4542},
};
static const gm_fetch_file fetch_fashion[] = {
    {ZALANDO "train-images-idx3-ubyte.gz", "fashion-mnist/train-images-idx3-ubyte.gz",
     "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84", 26421880},
    {ZALANDO "train-labels-idx1-ubyte.gz", "fashion-mnist/train-labels-idx1-ubyte.gz",
     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845", 29515},
    {ZALANDO "t10k-images-idx3-ubyte.gz", "fashion-mnist/t10k-images-idx3-ubyte.gz",
     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073", 4422102},
    {ZALANDO "t10k-labels-idx1-ubyte.gz", "fashion-mnist/t10k-labels-idx1-ubyte.gz",
     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5", 5148},
};

gm_status gm_dataset_fetch_list(const char *name, const gm_fetch_file **files, int *n) {
    *files = NULL;
    *n = 0;
    const gm_dataset_info *info = gm_dataset_find(name);
    if (!info) return gm_error(GM_ERR_ARG, "dataset '%s' is unknown", name ? name : "(null)");
    if (info->synthetic) return gm_error(GM_ERR_UNSUPPORTED, "%s is synthetic: nothing to download", info->name);
    if (!strcmp(info->name, "binarized-mnist")) { *files = fetch_bmnist; *n = 3; }
    else if (!strcmp(info->name, "mnist")) { *files = fetch_mnist; *n = 4; }
    else { *files = fetch_fashion; *n = 4; }
    return GM_OK;
}
