"""Which isolation layers this machine supports (checked once at start-up, in a throwaway child)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import traceback
from dataclasses import dataclass, field

from grader.sandbox import bootstrap
from grader.sandbox.limits import Isolation

PROBE_UID = 65533  # only ever used by the probe child, which exits at once


@dataclass(frozen=True)
class Capabilities:
    namespaces: bool   # pid, mount, network, IPC and UTS namespaces, and mounting in them
    setuid: bool       # switching to a dedicated unprivileged uid (needs root)
    seccomp: bool      # loading a seccomp filter
    problems: tuple[str, ...] = field(default=())

    @property
    def full(self) -> bool:
        return self.namespaces and self.setuid and self.seccomp

    def available(self, wanted: Isolation) -> Isolation:
        """The requested layers this machine can actually apply (rlimits always can)."""
        return Isolation(
            namespaces=wanted.namespaces and self.namespaces,
            uid=wanted.uid and self.setuid,
            seccomp=wanted.seccomp and self.seccomp,
            rlimits=wanted.rlimits,
        )

    def describe(self) -> str:
        missing = [name for name, ok in (("namespaces", self.namespaces), ("uid switching", self.setuid),
                                         ("seccomp", self.seccomp)) if not ok]
        if not missing:
            return "full isolation available"
        return "missing: " + ", ".join(missing) + ("; " + "; ".join(self.problems) if self.problems else "")


def _try(results: dict, problems: list, key: str, step) -> None:
    try:
        step()
        results[key] = True
    except Exception as exc:
        results[key] = False
        problems.append(f"{key}: {type(exc).__name__}: {exc}")


def probe() -> Capabilities:
    """Fork a child that tries each layer in the order the sandbox applies them; report what worked."""
    from grader.sandbox import isolate, libc
    from grader.sandbox.policy import compile_bpf  # imported as root: the uid may not read the interpreter

    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        results: dict[str, bool] = {}
        problems: list[str] = []
        try:
            os.close(read_fd)

            def namespaces() -> None:
                libc.unshare(libc.CLONE_NEWPID | libc.CLONE_NEWNS | libc.CLONE_NEWNET | libc.CLONE_NEWIPC
                             | libc.CLONE_NEWUTS)
                libc.mount(None, "/", None, libc.MS_REC | libc.MS_PRIVATE)
                libc.mount("tmpfs", isolate.WORKDIR, "tmpfs", libc.MS_NOSUID | libc.MS_NODEV, "size=4k")

            def setuid() -> None:
                isolate.drop_privileges(PROBE_UID)

            def seccomp() -> None:
                isolate.load_seccomp(libc.SeccompProgram(compile_bpf()))

            _try(results, problems, "namespaces", namespaces)
            _try(results, problems, "setuid", setuid)
            _try(results, problems, "seccomp", seccomp)
            os.write(write_fd, json.dumps({**results, "problems": problems}).encode())
        except BaseException:
            os.write(write_fd, json.dumps({"problems": [traceback.format_exc()]}).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while data := os.read(read_fd, 65536):
        chunks.append(data)
    os.close(read_fd)
    os.waitpid(pid, 0)
    raw = json.loads(b"".join(chunks) or b"{}")
    return Capabilities(
        namespaces=bool(raw.get("namespaces")),
        setuid=bool(raw.get("setuid")),
        seccomp=bool(raw.get("seccomp")),
        problems=tuple(raw.get("problems", ())),
    )


def check_capabilities() -> Capabilities:
    """Probe in a fresh interpreter (never fork the caller, which may be a threaded web process)."""
    try:
        proc = subprocess.run(
            bootstrap.command("probe"), env=bootstrap.clean_env(), capture_output=True, timeout=60,
            check=False, stdin=subprocess.DEVNULL,
        )
        raw = json.loads(proc.stdout or b"{}")
    except (OSError, subprocess.SubprocessError, ValueError) as exc:
        return Capabilities(False, False, False, (f"probe failed: {exc}",))
    if not raw:
        err = proc.stderr.decode(errors="replace")[-2000:]
        return Capabilities(False, False, False, (f"probe failed: {err}",))
    return Capabilities(raw["namespaces"], raw["setuid"], raw["seccomp"], tuple(raw["problems"]))


def probe_main() -> None:
    caps = probe()
    sys.stdout.write(json.dumps({"namespaces": caps.namespaces, "setuid": caps.setuid,
                                 "seccomp": caps.seccomp, "problems": list(caps.problems)}))
    sys.stdout.flush()
