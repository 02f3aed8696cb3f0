"""Sandbox benchmark: the three-layer backward, 10 random test cases per submission, graded with full isolation,
against a naive baseline of a fresh `python -c` (importing numpy) per submission; then the cost of each layer.

    .venv/bin/python -m bench.sandbox [--seconds 6] [--rounds 6] [--baseline 30]

Needs root (uids, namespaces). Prints figures and ratios; asserts nothing (timings vary with the machine).
A layer row that cannot run here (the machine lacks the layer) or whose submissions fail says why instead.
"""

from __future__ import annotations

import argparse
import json
import logging
import multiprocessing
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

# Run as a script: replace bench/ on the path (its other scripts may shadow stdlib names) with the project.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [str(_HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != _HERE]

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
    """What the grading layer does in the trusted parent: same shapes, finite, close to the reference."""
    for outputs, case in zip(outputs_per_case, cases, strict=True):
        expected = _reference[FUNCTION](**case)
        if outputs is None or len(outputs) != len(expected):
            return False
        for given, want in zip(outputs, expected, strict=True):
            if given.shape != want.shape or not np.isfinite(given).all():
                return False
            if given.size and np.abs(given - want).max() > 1e-9 + 1e-7 * np.abs(want).max():
                return False
    return True


_failure: list[str] = []  # why the first failed submission of this process failed


def sandbox_submission(pool: SandboxPool, cases: list[dict[str, np.ndarray]]) -> tuple[float, bool]:
    started = time.perf_counter()
    result = pool.run(STUDENT, FUNCTION, cases, time_limit_s=TIME_LIMIT_S, n_returns=3)
    ok = result.status == "ok" and grade([c.outputs for c in result.cases], cases)
    if not ok and not _failure:
        bad = [c for c in result.cases if c.status != "ok"]
        _failure.append(f"run {result.status}: {result.message}" if result.status != "ok" else
                        f"case {bad[0].status}: {bad[0].error_message}" if bad else "wrong outputs")
    return time.perf_counter() - started, ok


class _SandboxLog(logging.Handler):
    """What the sandbox logs during the bench, kept as one line each (no tracebacks on the terminal): a row
    whose slots failed reports the first message instead."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


_LOG = _SandboxLog()


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
        "latencies": latencies,
        "wall": wall,
    }


def paced_latency(pool: SandboxPool, rate: float, seconds: float) -> dict[str, float]:
    """Open-loop load: submissions arrive every 1/rate s whatever the backlog; latency includes queueing."""
    rng = np.random.default_rng(4)
    prepared = [make_cases(rng) for _ in range(32)]
    latencies: list[float] = []
    lock = threading.Lock()

    def one(cases: list[dict[str, np.ndarray]], due: float) -> None:
        sandbox_submission(pool, cases)
        with lock:
            latencies.append(time.perf_counter() - due)

    threads = []
    start = time.perf_counter()
    for i in range(int(rate * seconds)):
        due = start + i / rate
        time.sleep(max(0.0, due - time.perf_counter()))
        thread = threading.Thread(target=one, args=(prepared[i % len(prepared)], due))
        thread.start()
        threads.append(thread)
    for thread in threads:
        thread.join()
    return {"p50_ms": statistics.median(latencies) * 1000,
            "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000}


def sequential_latency(pool: SandboxPool, n: int) -> float:
    rng = np.random.default_rng(1)
    lat = []
    for _ in range(n):
        lat.append(sandbox_submission(pool, make_cases(rng))[0])
    return statistics.median(lat) * 1000


LAYERS = [
    ("fork only", Isolation(namespaces=False, uid=False, seccomp=False, rlimits=False)),
    ("+ namespaces (pid, mount, network, IPC, UTS; made once per slot)",
     Isolation(namespaces=True, uid=False, seccomp=False, rlimits=False)),
    ("+ dedicated uid", Isolation(namespaces=True, uid=True, seccomp=False, rlimits=False)),
    ("+ seccomp", Isolation(namespaces=True, uid=True, seccomp=True, rlimits=False)),
    ("+ rlimits (= full)", Isolation()),
]


def cpu_seconds(before: os.times_result, after: os.times_result) -> float:
    """CPU of this process plus reaped children (fork servers count once their pool is closed)."""
    return sum(getattr(after, f) - getattr(before, f) for f in ("user", "system", "children_user",
                                                                "children_system"))


_TICK = os.sysconf("SC_CLK_TCK")


def servers_cpu(pool: SandboxPool) -> float:
    """CPU seconds the fork servers have used so far, their reaped children (the submissions) included."""
    total = 0
    for pid in pool.zygote_pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        total += sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    return total / _TICK


def _worker(conn, index: int) -> None:
    """A client process with its own one-slot pool, like one web worker (see measure_pool)."""
    with SandboxPool(1) as pool:
        sandbox_submission(pool, make_cases(np.random.default_rng(100 + index)))  # warm-up
        conn.send("ready")
        while (message := conn.recv()) is not None:
            seconds, seed = message
            before = os.times(), servers_cpu(pool)
            stats = throughput(lambda c: sandbox_submission(pool, c), 1, seconds=seconds, seed=seed)
            time.sleep(0.05)  # let the zygote reap the last child
            stats["cpu"] = cpu_seconds(before[0], os.times()) + servers_cpu(pool) - before[1]
            conn.send(stats)


def measure_pool(limits: Limits | None, workers: int, seconds: float, sequential: int,
                 paced_rate: float = 0.0, baseline: int = 0, rounds: int = 1,
                 web_workers: int = 0) -> dict[str, float]:
    """Sandbox throughput over `seconds`, split into `rounds`, from `workers` threads sharing one pool.

    With `web_workers` > 0, each round also runs the deployed shape: that many client processes, each
    with its own pool of one slot, as gunicorn's worker processes would have (SANDBOX_SLOTS=1): one fork
    server per core in all, and no client threads queueing for one interpreter lock. With `baseline` > 0,
    each round ends with its share of baseline submissions. Taking turns lets all of them see the same
    machine (its speed drifts by 10-20% within seconds here). CPU per submission counts the clients, the
    zygotes and their children from the first submission to the last: starting a pool (two interpreters
    importing numpy, ~0.3 s of CPU) happens once per web process, not per submission, so it is reported
    apart."""
    cpus = os.cpu_count() or 1
    clients = []
    if web_workers:
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: nothing of this one's pool
        for index in range(web_workers):
            ours, theirs = context.Pipe()
            process = context.Process(target=_worker, args=(theirs, index), daemon=True)
            process.start()
            clients.append((process, ours))
        for _, conn in clients:
            if conn.recv() != "ready":
                sys.exit("a client process failed to start its pool")
    with SandboxPool(limits=limits) as pool:
        if pool.refusal:
            for process, conn in clients:
                conn.send(None)
                process.join(30)
            return {"refused": pool.refusal}
        sandbox_submission(pool, make_cases(np.random.default_rng(2)))  # warm-up
        started = os.times(), servers_cpu(pool)
        seq = sequential_latency(pool, sequential)
        paced = paced_latency(pool, paced_rate, 3.0) if paced_rate else {}
        sandbox_cpu = cpu_seconds(started[0], os.times()) + servers_cpu(pool) - started[1]
        runs: list[dict[str, float]] = []
        web_runs: list[dict[str, float]] = []
        base_runs: list[dict[str, float]] = []
        for index in range(rounds):
            if clients:
                for _, conn in clients:
                    conn.send((seconds / rounds, index))
                parts = [conn.recv() for _, conn in clients]
                web_runs.append({"latencies": [x for p in parts for x in p["latencies"]],
                                 "wall": max(p["wall"] for p in parts), "failures": sum(p["failures"] for p in parts),
                                 "cpu": sum(p["cpu"] for p in parts)})
                web_runs[-1]["per_s"] = len(web_runs[-1]["latencies"]) / web_runs[-1]["wall"]
            before = os.times(), servers_cpu(pool)
            runs.append(throughput(lambda c: sandbox_submission(pool, c), workers, seconds=seconds / rounds,
                                   seed=index))
            time.sleep(0.05)  # let the zygotes reap the last children
            sandbox_cpu += cpu_seconds(before[0], os.times()) + servers_cpu(pool) - before[1]
            if baseline:
                before_base = os.times()
                base_runs.append(throughput(baseline_submission, cpus, count=max(1, baseline // rounds),
                                            seed=index))
                base_runs[-1]["cpu"] = cpu_seconds(before_base, os.times())
        isolation, size = str(pool.isolation), pool.size
    for process, conn in clients:
        conn.send(None)
        process.join(30)
    stats = _combine(runs)
    stats.update({f"paced_{k}": v for k, v in paced.items()})
    stats["isolation"] = isolation  # type: ignore[assignment]
    stats["size"] = size
    stats["seq_p50_ms"] = seq
    stats["cpu_ms"] = sandbox_cpu * 1000 / (stats["n"] + sequential + int(paced_rate * 3.0))
    base_cpu = sum(r["cpu"] for r in base_runs)
    if base_runs:
        stats["baseline"] = _combine(base_runs)  # type: ignore[assignment]
        stats["baseline"]["cpu_ms"] = base_cpu * 1000 / stats["baseline"]["n"]  # type: ignore[index]
    if web_runs:
        stats["web"] = _combine(web_runs)  # type: ignore[assignment]
        stats["web"]["cpu_ms"] = sum(r["cpu"] for r in web_runs) * 1000 / stats["web"]["n"]  # type: ignore[index]
    return stats


def _combine(runs: list[dict[str, float]]) -> dict[str, float]:
    """Rounds of `throughput` as one: total submissions over total time; latencies pooled."""
    latencies = [x for r in runs for x in r["latencies"]]
    return {
        "n": len(latencies),
        "per_s": len(latencies) / sum(r["wall"] for r in runs),
        "p50_ms": statistics.median(latencies) * 1000,
        "p95_ms": sorted(latencies)[int(0.95 * (len(latencies) - 1))] * 1000,
        "failures": sum(r["failures"] for r in runs),
        "rounds": [r["per_s"] for r in runs],
    }


def main() -> None:
    sandbox_log = logging.getLogger("grader.sandbox")
    sandbox_log.addHandler(_LOG)
    sandbox_log.propagate = False
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of the full-isolation runs")
    parser.add_argument("--rounds", type=int, default=6,
                        help="sandbox and baseline take turns this many times")
    parser.add_argument("--layer-seconds", type=float, default=2.0, help="duration of each layer run")
    parser.add_argument("--baseline", type=int, default=30, help="baseline submissions (over all rounds)")
    parser.add_argument("--paced-rate", type=float, default=100.0,
                        help="offered load (submissions/s) for the latency-under-load figure")
    args = parser.parse_args()
    cpus = os.cpu_count() or 1
    # One client per slot: more clients queue for the same slots and only add thread switching in this
    # process (measured: 2 per slot gave ~5% fewer submissions/s here, 3 slots per CPU no more).
    workers = cpus

    print(f"machine: {cpus} CPUs, load average before the run {os.getloadavg()[0]:.2f}; "
          f"{CASES} cases per submission")
    before = os.times()
    with SandboxPool():
        pass
    startup_ms = cpu_seconds(before, os.times()) * 1000  # the fork servers' CPU counts once they are reaped
    full = measure_pool(None, workers, args.seconds, 100, paced_rate=args.paced_rate, baseline=args.baseline,
                        rounds=args.rounds, web_workers=cpus)
    if "refused" in full:
        sys.exit(f"sandbox refused: {full['refused']}")
    base, web = full["baseline"], full["web"]

    print(f"pool: {full['size']} fork servers, {full['isolation']}")
    print("\n== three-layer backward, full isolation vs a fresh python per submission ==")
    print(f"(the sandbox's two shapes and the baseline take turns, {args.rounds} rounds each, so that all see "
          "the same machine)")
    print(f"sandbox, as deployed: {web['per_s']:7.1f} submissions/s  ({cpus} client processes like gunicorn "
          f"workers, each with a pool of one slot (SANDBOX_SLOTS=1); n={web['n']}, p50 {web['p50_ms']:.1f} ms, "
          f"p95 {web['p95_ms']:.1f} ms, failures {web['failures']}); CPU {web['cpu_ms']:.2f} ms per submission")
    print("          per round: " + ", ".join(f"{x:.0f}" for x in web["rounds"]))
    print(f"sandbox, one process: {full['per_s']:7.1f} submissions/s  ({workers} client threads sharing a pool of "
          f"{full['size']} slots; n={full['n']}, p50 {full['p50_ms']:.1f} ms, p95 {full['p95_ms']:.1f} ms, failures "
          f"{full['failures']}); CPU {full['cpu_ms']:.2f} ms per submission")
    print("          per round: " + ", ".join(f"{x:.0f}" for x in full["rounds"]))
    print("          (its client threads take turns with one interpreter lock for compiling, decoding and "
          "grading: ~0.8 ms of Python per submission)")
    print(f"          p50 latency one at a time: {full['seq_p50_ms']:.1f} ms; at {args.paced_rate:g} submissions/s "
          f"offered: p50 {full['paced_p50_ms']:.1f} ms, p95 {full['paced_p95_ms']:.1f} ms")
    print(f"          pool start-up and shutdown, once per web process: {startup_ms:.0f} ms of CPU")
    print(f"baseline: {base['per_s']:7.1f} submissions/s  (n={base['n']}, {cpus} workers, "
          f"p50 {base['p50_ms']:.1f} ms, failures {base['failures']}); CPU {base['cpu_ms']:.1f} ms per submission")
    print("          per round: " + ", ".join(f"{x:.1f}" for x in base["rounds"]))
    ratio = web["per_s"] / base["per_s"]
    one_process = full["per_s"] / base["per_s"]
    print(f"ratio   : {ratio:.1f}x the baseline in submissions/s as deployed ({one_process:.1f}x from one "
          f"process); {base['cpu_ms'] / web['cpu_ms']:.1f}x in CPU per submission")
    print(f"capacity: {cpus} CPUs / {web['cpu_ms']:.2f} ms = {cpus * 1000 / web['cpu_ms']:.0f} submissions/s "
          "if this machine ran nothing else")
    for label, ok in ((">= 30x baseline", ratio >= 30), (">= 150 submissions/s", web["per_s"] >= 150),
                      ("p50 <= 15 ms (one at a time)", full["seq_p50_ms"] <= 15),
                      (f"p50 <= 15 ms (at {args.paced_rate:g}/s offered)", full["paced_p50_ms"] <= 15),
                      ("p50 <= 15 ms (saturated)", web["p50_ms"] <= 15)):
        print(f"  target {label:36s} {'met' if ok else 'NOT met'}")

    print("\n== cost of each isolation layer (cumulative) ==")
    print(f"{'layers':66s} {'subm/s':>7s} {'p50 ms':>7s} {'p50 seq':>7s} {'CPU ms/subm':>12s}")
    previous = None
    for label, isolation in LAYERS:
        _failure.clear()
        logged = len(_LOG.messages)
        stats = measure_pool(Limits(isolation=isolation), workers, args.layer_seconds, 40)
        if "refused" in stats:
            print(f"{label:66s} skipped: this machine cannot apply the layer ({stats['refused']})")
            continue
        delta = f" ({stats['cpu_ms'] - previous:+.2f})" if previous is not None else ""
        previous = stats["cpu_ms"]
        print(f"{label:66s} {stats['per_s']:7.1f} {stats['p50_ms']:7.1f} {stats['seq_p50_ms']:7.1f} "
              f"{stats['cpu_ms']:8.2f}{delta}")
        problems = _LOG.messages[logged:]
        if stats["failures"] or problems:
            print(f"{'':4s}NOT a valid measurement: {stats['failures']} of {stats['n']} submissions failed"
                  + (f" (first: {_failure[0]})" if _failure else "")
                  + (f"; the sandbox logged {len(problems)} problems (first: {problems[0]})" if problems else ""))
    if _LOG.messages:
        print(f"\nthe sandbox logged {len(_LOG.messages)} warnings or errors in all; first: {_LOG.messages[0]}")
    print(f"\nload average after the run {os.getloadavg()[0]:.2f}. CPU per submission counts this process "
          "(client threads and grading included), the zygotes and their children; kernel threads "
          "(kworkers) are not counted.")


if __name__ == "__main__":
    main()
