#!/usr/bin/env python3
"""engine_tool.py — helper of bench/run_engine.sh (dev-only, standard library only).

  engine_tool.py run --out RAW.jsonl --round R --config NAME -- CMD [ARGS...]
      Runs CMD, copies each JSON line it prints into RAW.jsonl with the fields
      round, config and others_cpu added. others_cpu is the machine's noise
      during that process: CPU time used by everything else (from /proc/stat,
      minus the child's own rusage) divided by wall time, in cores (0 = quiet,
      2 = another process kept both cores busy). Exit status of CMD is kept.

  engine_tool.py wait-quiet [--max-s 30] [--threshold 0.2]
      Returns once other processes use <= threshold cores over one second (or
      after max-s seconds): the driver calls it before each benchmark process.

  engine_tool.py compare RAW.jsonl
      For bench/run_patches.sh: medians of configs '<build>:current' against
      '<build>:patched' and the speed-up of the patched build.

  engine_tool.py summary RAW.jsonl [--md OUT.md]
      Pools every sample of a (bench, shape, impl, BLAS build, OPENBLAS_CORETYPE)
      across rounds, takes medians, and prints markdown tables with ratios
      (genmod / raw sgemm, genmod / torch) plus the environment and noise.
      Runs with others_cpu > GM_BENCH_QUIET (default 0.3) are left out when the
      same benchmark has quieter runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict


def cpu_busy_jiffies():
    with open("/proc/stat") as f:
        vals = [int(v) for v in f.readline().split()[1:]]
    idle = vals[3] + (vals[4] if len(vals) > 4 else 0)  # idle + iowait
    steal = vals[7] if len(vals) > 7 else 0
    return sum(vals[:8]) - idle - steal


def cmd_run(args):
    hz = os.sysconf("SC_CLK_TCK")
    busy0, t0 = cpu_busy_jiffies(), time.monotonic()
    proc = subprocess.Popen(args.cmd, stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        line = line.strip()
        if line.startswith("{"):
            lines.append(line)
    _, status, ru = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - t0
    busy = (cpu_busy_jiffies() - busy0) / hz
    own = ru.ru_utime + ru.ru_stime
    others = max(0.0, (busy - own) / wall) if wall > 0 else 0.0
    with open(args.out, "a") as f:
        for line in lines:
            try:
                d = json.loads(line)
            except json.JSONDecodeError:
                print(f"engine_tool: not JSON: {line[:80]}", file=sys.stderr)
                continue
            d["round"] = args.round
            d["config"] = args.config
            d["others_cpu"] = round(others, 3)
            d["process_wall_s"] = round(wall, 3)
            f.write(json.dumps(d) + "\n")
    print(f"  {args.config:<16} {os.path.basename(args.cmd[-1] if args.cmd[0].startswith('python') else args.cmd[0]):<16}"
          f" {wall:6.1f} s  others_cpu={others:.2f}  rc={proc.returncode}", file=sys.stderr)
    return proc.returncode


def cmd_wait_quiet(args):
    """Waits until other processes use <= threshold cores over a 1 s window, or max_s passed."""
    hz = os.sysconf("SC_CLK_TCK")
    t_end = time.monotonic() + args.max_s
    while True:
        b0, t0 = cpu_busy_jiffies(), time.monotonic()
        time.sleep(1.0)
        used = (cpu_busy_jiffies() - b0) / hz / (time.monotonic() - t0)
        if used <= args.threshold or time.monotonic() >= t_end:
            return 0


# ---------------------------------------------------------------- summary

# runs during which other processes used more cores than this are left out of the
# medians when quieter runs of the same benchmark exist (GM_BENCH_QUIET)
QUIET = float(os.environ.get("GM_BENCH_QUIET", "0.3"))


def med(v):
    return statistics.median(v) if v else float("nan")


def fmt(x, nd=2):
    return "—" if x is None or x != x else f"{x:.{nd}f}"


class Pool:
    """All samples of one (bench, shape, impl, build, coretype) across rounds."""

    def __init__(self):
        self.samples, self.round_medians, self.lines = [], [], []

    def add(self, d):
        self.lines.append(d)

    def select(self, quiet):
        """Keeps the runs with others_cpu <= quiet if there are any, else all of them."""
        q = [d for d in self.lines if d.get("others_cpu", 0.0) <= quiet]
        self.used = q if q else self.lines
        self.samples = [s for d in self.used for s in d["samples_s"]]
        self.round_medians = [d["median_s"] for d in self.used]

    @property
    def runs(self):
        return f"{len(self.used)}/{len(self.lines)}"

    @property
    def median(self):
        return med(self.samples)

    @property
    def best(self):
        return min(self.samples) if self.samples else float("nan")


def load(path):
    pools = defaultdict(Pool)
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            d = json.loads(line)
            build = d.get("blas_build", "?")
            core = d.get("openblas_coretype", "unset")
            if build == "torch":
                core = "-"
            pools[(d["bench"], d["shape"], d["impl"], build, core)].add(d)
    for p in pools.values():
        p.select(QUIET)
    return pools


def rate(work, t):
    return work / t / 1e9 if t and t == t and t > 0 else float("nan")


LINEAR_SHAPES = ["B=100,in=784,out=500", "B=100,in=500,out=784", "B=256,in=1024,out=1024"]


def shape_flops(shape):
    p = dict(kv.split("=") for kv in shape.split(","))
    return 6.0 * int(p["B"]) * int(p["in"]) * int(p["out"])


def summarize(pools, out):
    w = out.write
    builds = sorted({k[3] for k in pools if k[3] != "torch"})
    cores = sorted({k[4] for k in pools if k[3] != "torch"}, key=lambda c: (c != "unset", c))
    configs = [(b, c) for b in builds for c in cores]
    torch_line = next((p.lines[0] for k, p in pools.items() if k[3] == "torch"), None)
    any_g = next((p.lines[0] for k, p in pools.items() if k[3] != "torch"), None)

    w("### Environment\n\n")
    seen = set()
    for (bench, shape, impl, build, core), p in sorted(pools.items()):
        if build == "torch" or (build, core) in seen:
            continue
        seen.add((build, core))
        d = p.lines[0]
        w(f"- OpenBLAS build `{build}`, OPENBLAS_CORETYPE={core}: `{d['blas']}`, "
          f"threads omp={d['omp_threads']} blas={d['blas_threads']}\n")
    if torch_line:
        w(f"- PyTorch {torch_line['torch_version']}, BLAS {torch_line['blas']}, CPU capability "
          f"{torch_line.get('cpu_capability', '?')}, torch.get_num_threads()={torch_line['threads']}\n")
    rounds = sorted({d["round"] for p in pools.values() for d in p.lines})
    if any_g:
        w(f"- rounds: {len(rounds)}; per process {any_g['reps']} interleaved repetitions of >= "
          f"{os.environ.get('GM_BENCH_MIN_S', '0.3')} s; medians pool all repetitions of all rounds\n")
    noise = [d["others_cpu"] for p in pools.values() for d in p.lines if "others_cpu" in d]
    if noise:
        w(f"- noise (CPU cores used by other processes during a benchmark process): median "
          f"{med(noise):.2f}, max {max(noise):.2f} (0 = quiet machine, 2 = both cores taken); medians use only "
          f"the runs with noise <= {QUIET} when a benchmark has any (column 'runs': used/all)\n")
    w("\n")

    # ---- linear
    w("### Linear layer forward + backward (3 GEMMs), GFLOP/s (median time in ms)\n\n")
    w("| shape | BLAS build | CORETYPE | genmod | raw sgemm | genmod/raw | torch | genmod/torch | arena mallocs growth | runs |\n")
    w("|---|---|---|---|---|---|---|---|---|---|\n")
    for shape in LINEAR_SHAPES:
        fl = shape_flops(shape)
        tp = pools.get(("linear_fwd_bwd", shape, "torch", "torch", "-"))
        for build, core in configs:
            g = pools.get(("linear_fwd_bwd", shape, "genmod", build, core))
            r = pools.get(("linear_fwd_bwd", shape, "raw_sgemm", build, core))
            if not g or not r:
                continue
            growth = max(d.get("arena_mallocs_end", 0) - d.get("arena_mallocs_warm", 0) for d in g.lines)
            tcell = f"{fmt(rate(fl, tp.median), 1)} ({fmt(tp.median * 1e3, 3)})" if tp else "—"
            gt = fmt(tp.median / g.median, 2) if tp else "—"
            w(f"| {shape} | {build} | {core} | {fmt(rate(fl, g.median), 1)} ({fmt(g.median * 1e3, 3)}) | "
              f"{fmt(rate(fl, r.median), 1)} ({fmt(r.median * 1e3, 3)}) | **{fmt(r.median / g.median, 2)}** | "
              f"{tcell} | {gt} | {growth} | {g.runs} |\n")
    w("\nRatios are throughput ratios (time of the other / time of genmod); >= 0.80 vs raw is the goal.\n\n")

    # ---- adam
    w("### Adam step, 2^20 parameters (28 bytes moved per parameter), GB/s (median ms)\n\n")
    w("| impl | BLAS build | GB/s | ms | best ms | runs |\n|---|---|---|---|---|---|\n")
    nbytes = 28.0 * (1 << 20)
    adam_rows = sorted((k, p) for k, p in pools.items() if k[0] == "adam_step" and (k[4] in ("unset", "-")))
    for (bench, shape, impl, build, core), p in adam_rows:
        w(f"| {impl} | {build} | {fmt(rate(nbytes, p.median), 1)} | {fmt(p.median * 1e3, 3)} | {fmt(p.best * 1e3, 3)} | {p.runs} |\n")
    tf = [p for k, p in pools.items() if k[0] == "adam_step" and k[3] == "torch"]
    if tf:
        best = min(tf, key=lambda p: p.median)
        w(f"\nBest torch variant: `{best.lines[0]['impl']}`.\n")
    w("\n")

    # ---- eltwise
    w("### Elementwise chain sigmoid(tanh(x)*1.7+0.3), forward + backward, 2^22 floats\n\n")
    w("Effective GB/s over the nominal 80 bytes/element of an unfused framework (same count for all rows).\n\n")
    w("| impl | BLAS build | effective GB/s | ms | ns/elem | runs |\n|---|---|---|---|---|---|\n")
    n = 1 << 22
    el_rows = sorted((k, p) for k, p in pools.items() if k[0] == "eltwise_chain_fwd_bwd" and k[4] in ("unset", "-"))
    for (bench, shape, impl, build, core), p in el_rows:
        w(f"| {impl} | {build} | {fmt(rate(80.0 * n, p.median), 1)} | {fmt(p.median * 1e3, 2)} | "
          f"{fmt(p.median * 1e9 / n, 2)} | {p.runs} |\n")
    w("\n")

    # ---- checks
    bad = []
    for k, p in pools.items():
        for d in p.lines:
            if d.get("failed"):
                bad.append(f"{k}: a step failed")
            if d.get("arena_mallocs_end", 0) != d.get("arena_mallocs_warm", 0):
                bad.append(f"{k}: arena mallocs grew {d['arena_mallocs_warm']} -> {d['arena_mallocs_end']}")
            if d.get("check_max_rel_err", 0) > 1e-3 or d.get("check_max_abs_err", 0) > 1e-5:
                bad.append(f"{k}: result check failed")
    w("### Checks\n\n")
    if bad:
        for b in sorted(set(bad)):
            w(f"- FAILED {b}\n")
    else:
        w("- genmod and raw/fused results agree; gm_arena_mallocs did not grow after warm-up in any run; no step failed\n")
    return 1 if bad else 0


def cmd_compare(args):
    """Medians per (bench, shape, impl, BLAS build) for configs '<build>:current' vs '<build>:patched'."""
    pools = defaultdict(Pool)
    with open(args.raw) as f:
        for line in f:
            if line.strip():
                d = json.loads(line)
                pools[(d["bench"], d["shape"], d["impl"], d["config"])].add(d)
    for p in pools.values():
        p.select(QUIET)
    print("| bench | shape | impl | BLAS build | current ms | patched ms | speed-up | runs |")
    print("|---|---|---|---|---|---|---|---|")
    for (bench, shape, impl, cfg), cur in sorted(pools.items()):
        build, _, which = cfg.partition(":")
        if which != "current":
            continue
        pat = pools.get((bench, shape, impl, build + ":patched"))
        if not pat:
            continue
        print(f"| {bench} | {shape} | {impl} | {build} | {fmt(cur.median * 1e3, 3)} | {fmt(pat.median * 1e3, 3)} | "
              f"**{fmt(cur.median / pat.median, 2)}x** | {cur.runs}, {pat.runs} |")
    return 0


def cmd_summary(args):
    pools = load(args.raw)
    rc = summarize(pools, sys.stdout)
    if args.md:
        with open(args.md, "w") as f:
            summarize(pools, f)
    return rc


def main():
    ap = argparse.ArgumentParser(description="helper of bench/run_engine.sh")
    sub = ap.add_subparsers(dest="cmd_name", required=True)
    r = sub.add_parser("run")
    r.add_argument("--out", required=True)
    r.add_argument("--round", required=True)
    r.add_argument("--config", required=True)
    r.add_argument("cmd", nargs=argparse.REMAINDER)
    c = sub.add_parser("compare")
    c.add_argument("raw")
    q = sub.add_parser("wait-quiet")
    q.add_argument("--max-s", type=float, default=30.0)
    q.add_argument("--threshold", type=float, default=0.2)
    s = sub.add_parser("summary")
    s.add_argument("raw")
    s.add_argument("--md")
    args = ap.parse_args()
    if args.cmd_name == "run":
        if args.cmd and args.cmd[0] == "--":
            args.cmd = args.cmd[1:]
        if not args.cmd:
            ap.error("run: missing command")
        return cmd_run(args)
    if args.cmd_name == "compare":
        return cmd_compare(args)
    if args.cmd_name == "wait-quiet":
        return cmd_wait_quiet(args)
    return cmd_summary(args)


if __name__ == "__main__":
    sys.exit(main())
