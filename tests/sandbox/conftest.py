"""A session-wide sandbox pool, a fake instance folder holding secrets, and the after-suite containment checks.

Without root or namespaces the sandbox tests skip with the reason, except in CI (CI=true), where full
isolation is required and they fail instead.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import numpy as np
import pytest

from grader.sandbox import Limits, SandboxPool, check_capabilities
from grader.sandbox.isolate import processes_of_uid
from grader.sandbox.limits import PROJECT_ROOT

SECRET = "gradgate-secret-" + secrets.token_hex(8)
# In the test process's environment: the sandbox must not inherit it.
os.environ["GRADGATE_SANDBOX_TEST_SECRET"] = SECRET

# Places hostile submissions try to write; none may exist after the suite.
WRITE_TARGETS = [
    "/tmp/gradgate-pwned", "/var/tmp/gradgate-pwned", "/dev/shm/gradgate-pwned", "/run/lock/gradgate-pwned",
    f"{PROJECT_ROOT}/gradgate-pwned", f"{PROJECT_ROOT}/instance/gradgate-pwned", "/etc/gradgate-pwned",
    "/root/gradgate-pwned", "/gradgate-pwned", "/tmp/gradgate-outlived",
]
# Where a file owned by a sandbox uid would show that something escaped its private tmpfs.
SCAN_ROOTS = ["/tmp", "/var/tmp", "/dev/shm", "/run/lock", PROJECT_ROOT]
SCAN_SKIP = {".git", ".venv", "node_modules", "__pycache__", ".pytest_cache", ".ruff_cache", ".hypothesis"}


def isolation_problem() -> str | None:
    if os.geteuid() != 0:
        return "the sandbox needs root (dedicated uids, namespaces); CI runs as root"
    caps = check_capabilities()
    return None if caps.full else caps.describe()


def require_isolation() -> None:
    problem = isolation_problem()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI must run the sandbox suite with full isolation: {problem}")
        pytest.skip(problem)


@pytest.fixture(scope="session")
def instance_dir(tmp_path_factory) -> Path:
    """A stand-in for the app's instance folder: a root-only secret key and a world-readable database file
    (SQLite files get the default umask), hidden from the sandbox like the real one."""
    path = tmp_path_factory.mktemp("instance")
    key = path / "secret_key"
    key.write_text(SECRET)
    key.chmod(0o600)
    db = path / "gradgate.db"
    db.write_bytes(b"SQLite format 3\x00" + SECRET.encode())
    db.chmod(0o644)
    return path


def _files_of(paths: list[Path]) -> dict[str, tuple[float, int, str]]:
    out = {}
    for p in paths:
        if p.is_file():
            st = p.stat()
            out[str(p)] = (st.st_mtime, st.st_size, p.read_bytes().hex()[:200])
    return out


def sandbox_owned_files(limits: Limits) -> list[str]:
    uids = range(limits.uid_base, limits.uid_base + limits.uid_count)
    found = []
    for root in SCAN_ROOTS:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SCAN_SKIP]
            for name in dirnames + filenames:
                try:
                    if os.lstat(os.path.join(dirpath, name)).st_uid in uids:
                        found.append(os.path.join(dirpath, name))
                except FileNotFoundError:
                    pass
    return found


def slot_processes(pool: SandboxPool) -> set[int]:
    """The processes that belong to the slots between runs: each zygote and its pre-forked child."""
    pids: set[int] = set()
    for zygote in pool.zygote_pids:
        pids.add(zygote)
        try:
            with open(f"/proc/{zygote}/task/{zygote}/children") as f:
                pids.update(int(x) for x in f.read().split())
        except FileNotFoundError:
            pass
    return pids


def stray_processes(pool: SandboxPool, timeout: float = 5.0) -> list[int]:
    """Processes of the pool's uids other than the zygotes and their warm children, waiting out ones still
    being reaped."""
    deadline = time.monotonic() + timeout
    while True:
        expected = slot_processes(pool)
        strays = [pid for uid in pool.uids for pid in processes_of_uid(uid) if pid not in expected]
        if not strays or time.monotonic() > deadline:
            return strays
        time.sleep(0.05)


CORRECT_CODE = """
import numpy as np

def f(x, W):
    return x @ W, W.T.copy()
"""


def correct_cases(n: int = 3) -> list[dict[str, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [{"x": rng.standard_normal((3, 4)), "W": rng.standard_normal((4, 2))} for _ in range(n)]


def assert_correct_run(pool: SandboxPool) -> None:
    cases = correct_cases()
    result = pool.run(CORRECT_CODE, "f", cases, time_limit_s=2.0)
    assert result.status == "ok", result.message
    for case, outcome in zip(cases, result.cases, strict=True):
        assert outcome.status == "ok", (outcome.error_type, outcome.error_message)
        np.testing.assert_allclose(outcome.outputs[0], case["x"] @ case["W"])
        np.testing.assert_allclose(outcome.outputs[1], case["W"].T)


@pytest.fixture(scope="session")
def pool(instance_dir):
    require_isolation()
    limits = Limits(memory_bytes=256 * 1024 * 1024)
    watched = [instance_dir / "secret_key", instance_dir / "gradgate.db", Path(PROJECT_ROOT) / "instance" /
               "secret_key", Path("/etc/shadow"), Path("/etc/passwd")]
    # Only files that exist now: other tests may create the project's instance/secret_key meanwhile.
    watched = [p for p in watched if p.is_file()]
    before = _files_of(watched)
    sandbox_pool = SandboxPool(2, limits=limits)
    try:
        yield sandbox_pool
        # After the whole (hostile) suite: still grades correctly, nothing escaped, nothing outlived it.
        assert_correct_run(sandbox_pool)
        assert stray_processes(sandbox_pool) == [], "sandbox processes outlived their run"
        assert _files_of(watched) == before, "a file outside the sandboxes changed"
        assert [p for p in WRITE_TARGETS if os.path.lexists(p)] == [], "a sandbox wrote outside its directory"
        assert sandbox_owned_files(limits) == [], "files owned by a sandbox uid exist outside the sandboxes"
    finally:
        uids = sandbox_pool.uids
        sandbox_pool.close()
    deadline = time.monotonic() + 5
    while any(processes_of_uid(u) for u in uids) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(processes_of_uid(u) for u in uids), "a process of a sandbox uid remains after close()"
