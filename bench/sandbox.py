"""Sandbox benchmark: the three-layer backward, 10 random test cases per submission, graded with full isolation,
against a naive baseline of a fresh `python -c` (importing numpy) per submission; then the cost of each layer.

    .venv/bin/python bench/sandbox.py [--seconds 5] [--baseline 16]

Needs root (uids, namespaces). Prints figures and ratios; asserts nothing (timings vary with the machine).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from grader.sandbox import Isolation, Limits, SandboxPool  # noqa: E402

STUDENT = '''
import numpy as np

def three_layer_backward(x, y, W1, W2, W3):
    z1 = x @ W1
    h1 = np.maximum(z1, 0)
    z2 = h1 @ W2
    h2 = np.maximum(z2, 0)
    p = 1.0 / (1.0 + np.exp(-(h2 @ W3)))
    g3 = (p - y) / x.shape[0]          # mean binary cross-entropy through the sigmoid
    dW3 = h2.T @ g3
    g2 = (g3 @ W3.T) * (z2 > 0)
    dW2 = h1.T @ g2
    g1 = (g2 @ W2.T) * (z1 > 0)
    dW1 = x.T @ g1
    return dW1, dW2, dW3
'''
FUNCTION = "three_layer_backward"
CASES = 10
TIME_LIMIT_S = 2.0

# The naive baseline: one fresh interpreter per submission, cases in and outputs out as JSON on stdin/stdout.
BASELINE = '''
import json, sys
import numpy as np
job = json.load(sys.stdin)
ns = {}
exec(job["code"], ns)
fn = ns[job["function"]]
out = []
for case in job["cases"]:
    result = fn(**{k: np.array(v) for k, v in case.items()})
    out.append([np.asarray(r, dtype=float).tolist() for r in result])
json.dump(out, sys.stdout)
'''

_reference: dict = {}
exec(STUDENT, _reference)  # the trusted parent's own reference (the grading layer would use the engine)


def make_cases(rng: np.random.Generator) -> list[dict[str, np.ndarray]]:
    cases = []
    for _ in range(CASES):
        n, d, h1, h2, k = (int(rng.integers(lo, hi)) for lo, hi in ((1, 9), (2, 9), (2, 9), (2, 9), (1, 4)))
        cases.append({
            "x": rng.standard_normal((n, d)),
            "y": rng.integers(0, 2, (n, k)).astype(float),
            "W1": rng.standard_normal((d, h1)),
            "W2": rng.standard_normal((h1, h2)),
            "W3": rng.standard_normal((h2, k)),
        })
    return cases


def grade(outputs_per_case: list[list[np.ndarray] | None], cases: list[dict[str, np.ndarray]]) -> bool:
    for outputs, case in zip(outputs_per_case, cases, strict=True):
        expected = _reference[FUNCTION](**case)
        if outputs is None or len(outputs) != 3:
            return False
        if not all(o.shape == e.shape and np.allclose(o, e) for o, e in zip(outputs, expected, strict=True)):
            return False
    return True


def sandbox_submission(pool: SandboxPool, cases: list[dict[str, np.ndarray]]) -> tuple[float, bool]:
    started = time.perf_counter()
    result = pool.run(STUDENT, FUNCTION, cases, time_limit_s=TIME_LIMIT_S)
    ok = result.status == "ok" and grade([c.outputs for c in result.cases], cases)
    return time.perf_counter() - started, ok


def baseline_submission(cases: list[dict[str, np.ndarray]]) -> tuple[float, bool]:
    started = time.perf_counter()
    job = {"code": STUDENT, "function": FUNCTION, "cases": [{k: v.tolist() for k, v in c.items()} for c in cases]}
    proc = subprocess.run([sys.executable, "-c", BASELINE], input=json.dumps(job), capture_output=True,
                          text=True, check=False)
    ok = proc.returncode == 0 and grade([[np.array(o) for o in r] for r in json.loads(proc.stdout)], cases)
    return time.perf_counter() - started, ok


def throughput(submit, workers: int, seconds: float | None = None, count: int | None = None,
               seed: int = 0) -> dict[str, float]:
    """Run `submit(cases)` from `workers` threads for `seconds` (or `count` submissions in all)."""
    rng = np.random.default_rng(seed)
    prepared = [make_cases(rng) for _ in range(64)]
    latencies: list[float] = []
    failures = [0]
    lock = threading.Lock()
    stop_at = time.perf_counter() + seconds if seconds else None
    cpu0 = os.times()

    def worker(index: int) -> None:
        i = index
        while True:
            with lock:
                if count is not None and len(latencies) >= count:
                    return
            if stop_at is not None and time.perf_counter() >= stop_at:
                return
            latency, ok = submit(prepared[i % len(prepared)])
            i += workers
            with lock:
                latencies.append(latency)
                failures[0] += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    cpu1 = os.times()
    return {
        "n": len(latencies),
        "per_s": len(latencies) / wall,
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000,
        "failures": failures[0],
        "parent_cpu_ms": ((cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)) * 1000 / max(1, len(latencies)),
    }


def sequential_latency(pool: SandboxPool, n: int) -> float:
    rng = np.random.default_rng(1)
    lat = []
    for _ in range(n):
        lat.append(sandbox_submission(pool, make_cases(rng))[0])
    return statistics.median(lat) * 1000


LAYERS = [
    ("fork only", Isolation(namespaces=False, uid=False, seccomp=False, rlimits=False)),
    ("+ namespaces (pid/mnt/net/ipc/uts + mounts)", Isolation(namespaces=True, uid=False, seccomp=False,
                                                              rlimits=False)),
    ("+ dedicated uid", Isolation(namespaces=True, uid=True, seccomp=False, rlimits=False)),
    ("+ seccomp", Isolation(namespaces=True, uid=True, seccomp=True, rlimits=False)),
    ("+ rlimits (= full)", Isolation()),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="duration of the full-isolation run")
    parser.add_argument("--layer-seconds", type=float, default=2.0, help="duration of each layer run")
    parser.add_argument("--baseline", type=int, default=16, help="baseline submissions")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    workers = 2 * cpus  # keep every slot busy while results travel back

    print(f"machine: {cpus} CPUs, load average {os.getloadavg()[0]:.2f}; {CASES} cases per submission")
    with SandboxPool() as pool:
        if pool.refusal:
            sys.exit(f"sandbox refused: {pool.refusal}")
        print(f"pool: {pool.size} fork servers, isolation {pool.isolation}")
        sandbox_submission(pool, make_cases(np.random.default_rng(2)))  # warm-up
        seq_p50 = sequential_latency(pool, 100)
        full = throughput(lambda c: sandbox_submission(pool, c), workers, seconds=args.seconds)
    base = throughput(baseline_submission, cpus, count=args.baseline)

    print("\n== three-layer backward, full isolation vs a fresh python per submission ==")
    print(f"sandbox : {full['per_s']:7.1f} submissions/s  (n={full['n']}, {workers} client threads, "
          f"p50 {full['p50_ms']:.1f} ms, p95 {full['p95_ms']:.1f} ms under load, failures {full['failures']})")
    print(f"          p50 latency one at a time: {seq_p50:.1f} ms")
    print(f"baseline: {base['per_s']:7.1f} submissions/s  (n={base['n']}, {cpus} workers, "
          f"p50 {base['p50_ms']:.1f} ms, failures {base['failures']})")
    ratio = full["per_s"] / base["per_s"]
    print(f"ratio   : {ratio:.1f}x the baseline")
    for label, ok in ((">= 30x baseline", ratio >= 30), (">= 150 submissions/s", full["per_s"] >= 150),
                      ("p50 <= 15 ms (one at a time)", seq_p50 <= 15),
                      ("p50 <= 15 ms (under load)", full["p50_ms"] <= 15)):
        print(f"  target {label:32s} {'met' if ok else 'NOT met'}")

    print("\n== cost of each isolation layer (cumulative) ==")
    print(f"{'layers':46s} {'subm/s':>8s} {'p50 ms':>8s} {'p50 seq':>8s} {'cpu ms/subm':>12s}")
    previous = None
    for label, isolation in LAYERS:
        cpu0 = os.times()
        with SandboxPool(limits=Limits(isolation=isolation)) as pool:
            sandbox_submission(pool, make_cases(np.random.default_rng(3)))
            seq = sequential_latency(pool, 40)
            stats = throughput(lambda c, p=pool: sandbox_submission(p, c), workers, seconds=args.layer_seconds)
        cpu1 = os.times()  # children's CPU (fork servers and their children) is counted once they are reaped
        cpu = sum(getattr(cpu1, f) - getattr(cpu0, f) for f in ("user", "system", "children_user",
                                                                 "children_system"))
        cpu_ms = cpu * 1000 / (stats["n"] + 41)
        delta = f" (+{cpu_ms - previous:.2f})" if previous is not None else ""
        previous = cpu_ms
        print(f"{label:46s} {stats['per_s']:8.1f} {stats['p50_ms']:8.1f} {seq:8.1f} {cpu_ms:8.2f}{delta}")
    print("\ncpu ms/subm: CPU of this process, the fork servers and their children per submission (kernel "
          "work done in kworkers, e.g. tearing down network namespaces, is not included).")


if __name__ == "__main__":
    main()
