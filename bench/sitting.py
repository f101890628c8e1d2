"""One sitting of zerodl against PyTorch, and the ratios it gives.

A sitting runs zerodl's bench, then bench/torch_bench.py, then zerodl's bench again, and compares PyTorch's time per
step with the mean of zerodl's two. Run as three whole suites, one after the other, a sitting spans minutes, and the
machines here change speed within minutes (a step can take a fifth longer from one minute to the next, for both
programs), so a row's two sides can be timed in different spells. `--per-row` runs the three one row at a time
(zerodl, PyTorch, zerodl for W2 at batch 32 on two threads, then the same for the next row), so that each ratio
compares times taken seconds apart. (On the 2-core AMD EPYC it was tried on, that did not make the ratios steadier:
the speed moved within seconds too. The performance page has both kinds of sitting.)

    python3 bench/sitting.py --torch $HOME/venv-torch/bin/python --per-row --out bench/results/NAME
    python3 bench/sitting.py --report bench/results/NAME          # the ratios of a sitting already run

A sitting builds the bench binary first (`cargo build --release --bin bench`) and writes z1.jsonl, t.jsonl and
z2.jsonl in --out (the bench's and the PyTorch script's own lines); the ratios are printed beside the second round's
targets. Needs only Python's standard library: PyTorch runs in the interpreter given by --torch.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(ROOT, "target", "release", "bench")
TORCH_SCRIPT = os.path.join(ROOT, "bench", "torch_bench.py")
BATCHES = {"mlp": [64, 512], "cnn": [32, 128], "cnnbn": [32, 128], "lstm": [32], "bigru": [32]}
NAMES = {"mlp": "W1", "cnn": "W2", "cnnbn": "W3", "lstm": "W4", "bigru": "W5"}
# The second speed round's targets on two threads (ratio to PyTorch at most this); on one thread, at most 1.
TARGETS_2T = {("cnn", 32): 0.5, ("cnn", 128): 0.7, ("cnnbn", 32): 0.7, ("cnnbn", 128): 0.7,
              ("mlp", 64): 0.7, ("mlp", 512): 0.7}
FILES = ("z1.jsonl", "t.jsonl", "z2.jsonl")


def run_lines(cmd):
    """The JSON result lines a benchmark printed; exits with its error output if it failed."""
    p = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"sitting: {' '.join(cmd)} exited with {p.returncode}:\n{p.stderr.strip()}")
    lines = [ln for ln in p.stdout.splitlines() if ln.startswith("{")]
    results = [ln for ln in lines if "median_ms" in json.loads(ln)]
    if not results:
        sys.exit(f"sitting: {' '.join(cmd)} printed no result line:\n{p.stdout.strip()}\n{p.stderr.strip()}")
    return lines


def commands(torch, workloads, batches, threads):
    """zerodl's and PyTorch's command lines for these workloads, batches and thread counts."""
    sel = ["--workloads", workloads, "--threads", threads] + (["--batches", batches] if batches else [])
    return [BENCH] + sel, [torch, TORCH_SCRIPT] + sel


def sit(a):
    # Built here, so that a sitting never times a bench binary older than the source beside it.
    p = subprocess.run(["cargo", "build", "--release", "--bin", "bench"], cwd=ROOT, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"sitting: cargo build --release --bin bench failed:\n{p.stderr.strip()}")
    if not os.path.exists(a.torch):
        sys.exit(f"sitting: no Python at {a.torch} (--torch); see bench/torch_bench.py for PyTorch's set-up")
    os.makedirs(a.out, exist_ok=True)
    paths = [os.path.join(a.out, f) for f in FILES]
    for p in paths:
        if os.path.exists(p):
            sys.exit(f"sitting: {p} exists; give --out a new directory")
    if a.per_row:
        rows = [(w, str(b), t) for w in a.workloads.split(",")
                for b in (a.batches.split(",") if a.batches else BATCHES[w]) for t in a.threads.split(",")]
    else:
        rows = [(a.workloads, a.batches, a.threads)]
    for i, (w, b, t) in enumerate(rows):
        z, tt = commands(a.torch, w, b, t)
        if a.per_row:
            print(f"sitting: row {i + 1} of {len(rows)}: {w} batch {b}, {t} thread(s)", file=sys.stderr, flush=True)
        for path, cmd in zip(paths, (z, tt, z)):
            out = run_lines(cmd)
            with open(path, "a") as f:
                f.write("\n".join(out) + "\n")
    report(a.out)


def load(path):
    """Median ms per (workload, batch, threads) from one file of benchmark lines."""
    out = {}
    with open(path) as f:
        for ln in f:
            ln = ln.strip()
            if not ln.startswith("{"):
                continue
            r = json.loads(ln)
            if r.get("kind", "result") != "result" or "median_ms" not in r:
                continue
            out[(r["workload"], r["batch"], r["threads"])] = r["median_ms"]
    return out


def report(d):
    absent = [f for f in FILES if not os.path.exists(os.path.join(d, f))]
    if absent:
        sys.exit(f"sitting: {d} lacks {', '.join(absent)}: a sitting's directory holds {', '.join(FILES)}")
    z1, t, z2 = (load(os.path.join(d, f)) for f in FILES)
    keys = sorted(set(z1) & set(t) & set(z2), key=lambda k: (k[2], list(NAMES).index(k[0]) if k[0] in NAMES else 9, k[1]))
    if not keys:
        sys.exit(f"sitting: {d} holds no row timed in all three of {', '.join(FILES)}")
    print("| workload | batch | threads | zerodl (two runs) | PyTorch | ratio | target |")
    print("|---|---|---|---|---|---|---|")
    missed = []
    for k in keys:
        w, b, th = k
        ratio = statistics.mean((z1[k], z2[k])) / t[k]
        target = TARGETS_2T.get((w, b)) if th == 2 else (1.0 if th == 1 else None)
        verdict = "" if target is None else ("met" if ratio <= target else "missed")
        if verdict == "missed":
            missed.append(f"{NAMES.get(w, w)} b{b} {th}T")
        shown = "" if target is None else f"{target} {verdict}"
        print(f"| {NAMES.get(w, w)} `{w}` | {b} | {th} | {z1[k]:.3g}, {z2[k]:.3g} | {t[k]:.3g} | {ratio:.3f} | {shown} |")
    print(f"\nmissed: {', '.join(missed)}" if missed else "\nevery target among these rows met")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--torch", help="the Python that has torch (e.g. $HOME/venv-torch/bin/python)")
    ap.add_argument("--out", help="a new directory for z1.jsonl, t.jsonl and z2.jsonl")
    ap.add_argument("--report", metavar="DIR", help="print the ratios of the sitting in DIR and run nothing")
    ap.add_argument("--per-row", action="store_true", help="zerodl, PyTorch, zerodl for each row in turn")
    ap.add_argument("--workloads", default="mlp,cnn,cnnbn,lstm,bigru")
    ap.add_argument("--batches", default="", help="comma-separated; default: each workload's own")
    ap.add_argument("--threads", default="1,2")
    a = ap.parse_args()
    if a.report:
        if a.torch or a.out or a.per_row:
            sys.exit("sitting: --report reads a sitting already run; it takes no --torch, --out or --per-row")
        return report(a.report)
    if not (a.torch and a.out):
        sys.exit("sitting: give --torch and --out to run a sitting, or --report DIR to read one")
    unknown = [w for w in a.workloads.split(",") if w not in BATCHES]
    if unknown:
        sys.exit(f"sitting: unknown workload(s) {', '.join(unknown)} (known: {', '.join(BATCHES)})")
    sit(a)


if __name__ == "__main__":
    main()
