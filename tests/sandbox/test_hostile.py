"""Hostile submissions: each must be contained (nothing outside its sandbox affected, nothing outlives it)
and reported (a per-case status and message the grading layer can show).

Time limits are short so the suite stays fast; the after-suite checks live in conftest's `pool` fixture.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
import time

import numpy as np
import pytest

from grader.sandbox.limits import PROJECT_ROOT

from .conftest import SECRET, WRITE_TARGETS, assert_correct_run, stray_processes

X = {"x": np.arange(6.0).reshape(2, 3)}
FAIL = {"error", "timeout", "memory", "bad_return", "killed", "second_writer", "not_run"}


def run(pool, body: str, cases=None, time_limit_s: float = 1.0, fn: str = "f"):
    cases = [dict(X)] if cases is None else cases
    result = pool.run(body, fn, cases, time_limit_s=time_limit_s)
    assert result.status == "ok", (result.status, result.message)
    return result


def only(pool, body: str, **kw):
    result = run(pool, body, **kw)
    assert len(result.cases) == 1
    return result.cases[0]


def returned(outcome) -> np.ndarray:
    assert outcome.status == "ok", (outcome.status, outcome.error_type, outcome.error_message)
    return outcome.outputs[0]


# -- time ------------------------------------------------------------------------------------------------


def test_infinite_loop_times_out(pool):
    started = time.monotonic()
    case = only(pool, "def f(x):\n    while True:\n        pass\n", time_limit_s=0.5)
    assert case.status == "timeout"
    assert "time limit" in case.error_message
    assert time.monotonic() - started < 5


def test_sleep_times_out(pool):
    case = only(pool, "import time\ndef f(x):\n    time.sleep(60)\n", time_limit_s=0.5)
    assert case.status == "timeout"


def test_busy_loop_at_import_times_out_once(pool):
    started = time.monotonic()
    result = pool.run("while True:\n    pass\ndef f(x):\n    return x\n", "f", [dict(X)] * 3, time_limit_s=0.5)
    assert result.status == "load_error" and result.cases == []
    assert result.load_error.status == "timeout"
    assert "did not finish loading within the time limit of 0.5 s" in result.load_error.error_message
    assert time.monotonic() - started < 3  # once, not once per case


# -- processes and threads ---------------------------------------------------------------------------------


def test_fork_bomb_is_capped_and_cleaned_up(pool):
    code = "import os\ndef f(x):\n    while True:\n        os.fork()\n"
    case = only(pool, code, time_limit_s=0.5)
    assert case.status in FAIL
    assert stray_processes(pool) == []


def test_thread_bomb_is_capped(pool):
    code = ("import threading, time\ndef f(x):\n    while True:\n"
            "        threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n")
    case = only(pool, code, time_limit_s=1.0)
    assert case.status == "error"
    assert case.error_type == "RuntimeError"  # can't start new thread
    assert stray_processes(pool) == []


def test_multiprocessing_cannot_run_workers(pool):
    code = ("def f(x):\n    import multiprocessing\n    with multiprocessing.Pool(4) as p:\n"
            "        return p.map(abs, [1, 2])\n")
    case = only(pool, code, time_limit_s=1.0)
    assert case.status in FAIL
    assert stray_processes(pool) == []


def test_setsid_double_fork_does_not_outlive_the_run(pool):
    code = """
import os, time
def f(x):
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(1)
            open("/tmp/gradgate-outlived", "w").write("still here")
        os._exit(0)
    return x
"""
    case = only(pool, code)
    assert case.status == "ok"
    assert stray_processes(pool) == []
    time.sleep(1.5)  # had it survived, it would have written by now (the after-suite check looks)
    assert not os.path.exists("/tmp/gradgate-outlived")


def test_background_child_is_killed_with_the_run(pool):
    code = "import os, time\ndef f(x):\n    if os.fork() == 0:\n        time.sleep(60)\n    return x\n"
    case = only(pool, code)
    assert case.status == "ok"
    assert stray_processes(pool) == []


def test_kill_parent_and_everyone(pool):
    server = pool._slots[0].proc.pid
    code = f"""
import os, signal
def f(x):
    results = []
    for target in (os.getppid(), {server}, {os.getpid()}, 1):
        try:
            os.kill(target, signal.SIGKILL)
            results.append(0)
        except OSError as exc:
            results.append(exc.errno)
    try:
        os.kill(-1, signal.SIGKILL)
    except OSError:
        pass
    return x
"""
    zygotes = pool.zygote_pids
    case = only(pool, code)
    assert case.status in {"ok", "killed"}
    assert all(s.proc.poll() is None for s in pool._slots), "a fork server died"
    assert pool.zygote_pids == zygotes, "a zygote died"
    assert_correct_run(pool)


def test_ptrace_is_refused(pool):
    server = pool._slots[0].proc.pid
    code = f"""
import ctypes, numpy as np
libc = ctypes.CDLL(None, use_errno=True)
def f(x):
    out = []
    for pid in ({server}, 1):
        ret = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
        out.append([ret, ctypes.get_errno()])
    return np.array(out, dtype=float)
"""
    result = returned(only(pool, code))
    assert (result[:, 0] == -1).all()
    assert set(result[:, 1]) <= {errno.EPERM, errno.ESRCH}


# -- memory, recursion, output, disk, files ----------------------------------------------------------------


def test_memory_bomb_numpy(pool):
    case = only(pool, "import numpy as np\ndef f(x):\n    return np.ones((1 << 32,))\n")
    assert case.status == "memory"


def test_memory_bomb_gradual(pool):
    code = "def f(x):\n    hog = []\n    while True:\n        hog.append(bytearray(16 << 20))\n"
    case = only(pool, code, time_limit_s=2.0)
    assert case.status == "memory"


def test_forked_memory_bomb_is_capped_per_slot(pool):
    # Each process stays under its own address-space limit; together they would not fit the slot's cgroup.
    code = """
import os, time, numpy as np
def f(x):
    for _ in range(6):
        if os.fork() == 0:
            hog = np.ones(24_000_000)
            time.sleep(5)
            os._exit(0)
    hog = np.ones(24_000_000)
    time.sleep(5)
    return x
"""
    case = only(pool, code, time_limit_s=1.5)
    assert case.status in {"killed", "timeout", "memory", "error"}
    assert stray_processes(pool) == []
    for slot in pool._slots:
        for procs in slot.cgroup_procs:
            peak = os.path.join(os.path.dirname(procs), "memory.max_usage_in_bytes")
            if os.path.exists(peak):
                with open(peak) as f:
                    assert int(f.read()) <= pool.limits.memory_bytes + pool.limits.workdir_bytes + (64 << 20)


def test_deep_recursion_is_an_error(pool):
    case = only(pool, "def f(x, n=0):\n    return f(x, n + 1)\n")
    assert case.status == "error"
    assert case.error_type == "RecursionError"
    assert case.traceback and all("<submission>" not in line or True for line in case.traceback)


def test_unbounded_recursion_crash_is_reported(pool):
    code = "import sys\nsys.setrecursionlimit(10**9)\ndef f(x, n=0):\n    return f(x, n + 1)\n"
    case = only(pool, code, time_limit_s=1.0)
    # 3.11 keeps Python frames off the C stack: it runs out of time or memory, or crashes; all reported.
    assert case.status in {"killed", "error", "memory", "timeout"}
    assert case.error_message


# Printing without end is not a failure of its own: the output is capped, the time limit ends the case
# (tests/sandbox/test_output_cap.py checks the cap itself).
@pytest.mark.parametrize("body", ["    while True:\n        print('spam' * 1000)\n",
                                  "    while True:\n        sys.stderr.write('e' * 4096)\n",
                                  "    while True:\n        os.write(1, b'z' * 65536)\n"])
def test_endless_output_is_capped_and_stopped_by_the_time_limit(pool, body):
    case = only(pool, "import os, sys\ndef f(x):\n" + body, time_limit_s=0.5)
    assert case.status == "timeout"
    assert case.stdout_truncated
    assert len(case.stdout) <= pool.limits.stdout_chars_per_case + 100


def test_disk_fill_is_capped_and_removed(pool):
    code = """
def f(x):
    with open('big', 'wb') as out:
        while True:
            out.write(b'0' * (1 << 20))
"""
    case = only(pool, code, time_limit_s=2.0)
    assert case.status == "error"
    assert case.error_type == "OSError"  # file too large / no space left
    for _ in range(len(pool._slots)):
        assert list(returned(only(pool, LEFTOVERS))) == [0.0]  # every run starts with nothing of another's


def test_fd_exhaustion(pool):
    code = "def f(x):\n    keep = []\n    while True:\n        keep.append(open('/dev/null'))\n"
    case = only(pool, code)
    assert case.status == "error"
    assert case.error_type == "OSError"
    assert "Too many open files" in case.error_message


def test_large_return_is_refused(pool):
    case = only(pool, "import numpy as np\ndef f(x):\n    return np.zeros(5_000_000)\n")
    assert case.status == "bad_return"


# -- secrets -------------------------------------------------------------------------------------------------

READ = """
import numpy as np
def f(x):
    try:
        data = open({path!r}, 'rb').read()
    except OSError as exc:
        raise PermissionError(type(exc).__name__) from None
    return np.frombuffer(data[:8], dtype=np.uint8).astype(float)
"""


@pytest.mark.parametrize("path", ["/etc/shadow", f"{PROJECT_ROOT}/instance/secret_key", "/root/.bash_history",
                                  f"{PROJECT_ROOT}/.git/config"])
def test_reading_host_secrets_fails(pool, path):
    case = only(pool, READ.format(path=path))
    assert case.status == "error"
    assert case.error_message in {"PermissionError", "FileNotFoundError", "NotADirectoryError"}


def test_reading_the_instance_folder_fails(pool, instance_dir):
    for name in ("secret_key", "gradgate.db"):  # the database file is world-readable on the host
        case = only(pool, READ.format(path=str(instance_dir / name)))
        assert case.status == "error", name
        assert SECRET not in case.stdout + (case.error_message or "")


def test_database_socket_unreachable(pool):
    code = """
import socket
def f(x):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect('/run/postgresql/.s.PGSQL.5432')
"""
    case = only(pool, code)
    assert case.status == "error"
    assert case.error_type == "PermissionError"


def test_parent_environment_is_not_visible(pool):
    code = f"""
import os, glob, numpy as np
def f(x):
    seen = str(dict(os.environ))
    for path in glob.glob('/proc/*/environ'):
        try:
            seen += open(path, 'rb').read().decode(errors='replace')
        except OSError:
            pass
    for pid in ({os.getpid()}, {pool._slots[0].proc.pid}, os.getppid()):
        try:
            seen += open(f'/proc/{{pid}}/environ', 'rb').read().decode(errors='replace')
        except OSError:
            pass
    return np.array(float({SECRET!r} in seen))
"""
    assert returned(only(pool, code)) == 0.0


def test_no_process_is_visible(pool):
    code = """
import os, numpy as np
def f(x):
    return np.array([float(len(os.listdir('/proc')))])
"""
    assert list(returned(only(pool, code))) == [0.0]  # /proc is covered: not even the submission itself


def test_other_slots_files_are_invisible(pool):
    writer = """
import time, numpy as np
def f(x):
    open('other-slot-secret.txt', 'w').write('mine')
    time.sleep(1.5)
    return x
"""
    reader = """
import glob, os, numpy as np
def f(x):
    hits = glob.glob('/tmp/**/other-slot-secret.txt', recursive=True)
    hits += glob.glob('/proc/*/root/tmp/other-slot-secret.txt') + glob.glob('/proc/*/cwd/other-slot-secret.txt')
    return np.array(float(len(hits)))
"""
    results = {}
    thread = threading.Thread(target=lambda: results.setdefault("w", run(pool, writer, time_limit_s=3)))
    thread.start()
    time.sleep(0.4)
    found = returned(run(pool, reader).cases[0])
    thread.join()
    assert found == 0.0
    assert results["w"].cases[0].status == "ok"


def test_nothing_is_left_for_the_next_run(pool):
    # Each slot's /tmp is shared by its runs one after another: the zygote empties it in between, even of
    # what its owner made hard to remove.
    writer = """
import os, numpy as np
def f(x):
    os.makedirs('/tmp/deep/er', exist_ok=True)
    open('/tmp/deep/er/note.txt', 'w').write('from the last run')
    os.chmod('/tmp/deep/er', 0)
    os.chmod('/tmp/deep', 0o500)
    os.symlink('/etc/passwd', '/tmp/link')
    os.mkfifo('/tmp/fifo')
    try:
        os.chmod('/tmp', 0o500)  # root's sticky /tmp: refused
    except PermissionError:
        pass
    return x
"""
    reader = LEFTOVERS
    for _ in range(len(pool._slots)):  # slots take turns: every slot runs the writer, then the reader
        assert only(pool, writer).status == "ok"
    for _ in range(len(pool._slots)):
        assert list(returned(only(pool, reader))) == [0.0]
    assert os.path.isfile("/etc/passwd")


# What a run finds in /tmp that a run made (root's own entries, such as the service's library when it lives
# under /tmp, are not a run's).
LEFTOVERS = """
import os, numpy as np
def f(x):
    mine = [n for n in os.listdir('/tmp') if os.stat('/tmp/' + n, follow_symlinks=False).st_uid == os.getuid()]
    return np.array([float(len(mine))])
"""


def test_a_deep_tree_is_removed_and_the_slot_survives(pool):
    code = """
import os, numpy as np
def f(x):
    os.chdir('/tmp')
    for i in range(1500):  # deeper than any path the kernel takes in one piece
        os.mkdir('d')
        os.chdir('d')
    os.chdir('/tmp')
    return x
"""
    zygotes = pool.zygote_pids
    for _ in range(len(pool._slots)):
        assert only(pool, code, time_limit_s=5).status == "ok"
    reader = LEFTOVERS
    for _ in range(len(pool._slots)):
        assert list(returned(only(pool, reader))) == [0.0]
    assert pool.zygote_pids == zygotes


def test_a_wide_tree_is_removed_quickly(pool):
    code = """
import os, numpy as np
def f(x):
    n = 0
    try:
        while True:
            os.mkdir(f'/tmp/d{n}')
            n += 1
    except OSError:  # out of inodes
        pass
    return np.array([float(n)])
"""
    zygotes = pool.zygote_pids
    for _ in range(len(pool._slots)):
        assert returned(only(pool, code, time_limit_s=5))[0] > 1000
    started = time.monotonic()
    for _ in range(len(pool._slots)):
        assert list(returned(only(pool, LEFTOVERS))) == [0.0]
    assert time.monotonic() - started < 3  # each directory read once: not the quadratic walk it was
    assert pool.zygote_pids == zygotes


def test_what_later_runs_inherit_cannot_be_changed(pool):
    # The zygote (pid 1 here) shares the run's uid: its limits, priority and CPUs must stay out of reach.
    code = """
import ctypes, os, resource, numpy as np
libc = ctypes.CDLL(None, use_errno=True)
def attempt(call):
    try:
        call()
        return 0.0
    except OSError as exc:
        return float(exc.errno)
def f(x):
    return np.array([
        attempt(lambda: resource.prlimit(1, resource.RLIMIT_AS, (1 << 26, 1 << 26))),
        attempt(lambda: resource.prlimit(1, resource.RLIMIT_CPU, (5, 5))),
        attempt(lambda: os.setpriority(os.PRIO_PROCESS, 1, 19)),
        attempt(lambda: os.setpriority(os.PRIO_USER, os.getuid(), 19)),
        attempt(lambda: os.sched_setaffinity(1, {0})),
        attempt(lambda: os.sched_setscheduler(1, os.SCHED_IDLE, os.sched_param(0))),
        float(libc.syscall(251, 1, 1, 7 << 13) and ctypes.get_errno()),  # ioprio_set(PROCESS, pid 1, idle)
        attempt(lambda: os.setpriority(os.PRIO_PROCESS, 0, 5)),  # its own: allowed
    ])
"""
    results = returned(only(pool, code))
    assert list(results[:7]) == [float(errno.EPERM)] * 7
    assert results[7] == 0.0
    check = """
import os, resource, numpy as np
def f(x):
    return np.array([float(os.getpriority(os.PRIO_PROCESS, 0)), float(len(os.sched_getaffinity(0))),
                     float(os.sched_getscheduler(0)), float(resource.getrlimit(resource.RLIMIT_AS)[0] > 1 << 28)])
"""
    for _ in range(len(pool._slots)):
        assert list(returned(only(pool, check))) == [0.0, float(os.cpu_count()), float(os.SCHED_OTHER), 1.0]


def test_sigint_to_the_zygote_is_ignored(pool):
    zygotes = pool.zygote_pids
    code = ("import os, signal\ndef f(x):\n    os.kill(1, signal.SIGINT)\n"
            "    os.kill(os.getppid(), signal.SIGINT)\n    return x\n")
    assert only(pool, code).status == "ok"
    assert_correct_run(pool)
    assert pool.zygote_pids == zygotes


def test_sysv_ipc_is_refused(pool):
    # IPC objects outlive their process; a slot's runs share an IPC namespace one after another.
    code = """
import ctypes, numpy as np
libc = ctypes.CDLL(None, use_errno=True)
def f(x):
    out = []
    for call in (lambda: libc.shmget(0, 4096, 0o1600), lambda: libc.semget(0, 1, 0o1600),
                 lambda: libc.msgget(0, 0o1600)):
        out.append([call(), ctypes.get_errno()])
    return np.array(out, dtype=float)
"""
    result = returned(only(pool, code))
    assert (result[:, 0] == -1).all()
    assert set(result[:, 1]) == {errno.EPERM}


def test_only_the_allow_listed_files_are_there(pool):
    # The sandbox's root holds the system's programs and libraries, a few devices, the loader's cache, /tmp
    # and the directories leading to the standard library and numpy; nothing else of the host.
    code = f"""
import json, os, numpy as np
def f(x):
    seen = {{d: sorted(os.listdir(d)) if os.path.isdir(d) else None
            for d in ('/', '/etc', '/usr', '/dev', '/proc', {PROJECT_ROOT!r}, '/home', '/var', '/sys', '/run')}}
    print(json.dumps(seen))
    return x
"""
    import json

    seen = json.loads(only(pool, code).stdout)
    # Top-level entries: /etc, /dev, /proc, /tmp, and the first directory on the way to each system library
    # directory, the standard library and numpy (wherever the checkout and its venv happen to live).
    from grader.sandbox.isolate import SYSTEM_PATHS, library_paths

    on_the_way = {path.strip("/").split("/")[0] for path in (*SYSTEM_PATHS, *library_paths())
                  if os.path.lexists(path)}
    assert set(seen["/"]) <= {"etc", "dev", "proc", "tmp"} | on_the_way
    assert seen["/etc"] == ["ld.so.cache"]
    assert set(seen["/usr"]) <= {"lib", "lib32", "lib64", "libx32"}  # shared libraries, not Debian's Python
    assert set(seen["/dev"]) <= {"null", "zero", "full", "random", "urandom"}
    assert seen["/proc"] == []
    project = seen["<service>"]  # (paths of the service are scrubbed from what a student is shown)
    assert set(project or []) <= {".venv"}  # no instance folder, no .git, no code of the service
    for host_only in ("/home", "/var", "/sys", "/run"):
        assert seen[host_only] is None or host_only in sys.prefix or host_only in np.__file__, host_only


def test_standard_library_and_numpy_import_but_nothing_else(pool):
    code = """
import importlib, numpy as np
def f(x):
    out = []
    for name in ('numpy.fft', 'numpy.random', 'random', 'decimal', 'flask', 'sqlalchemy', 'psycopg'):
        try:
            importlib.import_module(name)
            out.append(1.0)
        except ImportError:
            out.append(0.0)
    return np.array(out + [float(np.fft.fft(np.ones(4))[0].real)])
"""
    assert list(returned(only(pool, code))) == [1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 4.0]


# -- network -------------------------------------------------------------------------------------------------


def test_sockets_are_refused(pool):
    code = """
import socket
def f(x):
    socket.socket(socket.AF_INET, socket.SOCK_STREAM).connect(('127.0.0.1', 5432))
"""
    case = only(pool, code)
    assert case.status == "error"
    assert case.error_type in {"PermissionError", "OSError"}


def test_dns_fails(pool):
    code = "import socket\ndef f(x):\n    socket.getaddrinfo(b'example.com', 80)\n"
    case = only(pool, code)
    assert case.status == "error"
    assert case.error_type == "gaierror"


def test_no_network_interfaces_but_loopback(pool):
    # Seen from outside (the sandbox has no /proc): each slot's network namespace is its own, with only lo.
    host = os.readlink("/proc/self/ns/net")
    for zygote in pool.zygote_pids:
        assert os.readlink(f"/proc/{zygote}/ns/net") != host
        with open(f"/proc/{zygote}/net/dev") as f:
            interfaces = [line.split(":")[0].strip() for line in f.read().splitlines()[2:]]
        assert interfaces == ["lo"]


# -- writing outside the working directory, privileges ----------------------------------------------------------


@pytest.mark.parametrize("path", WRITE_TARGETS[:-1])
def test_writing_outside_the_working_directory_fails(pool, path):
    case = only(pool, f"def f(x):\n    open({path!r}, 'w').write('pwned')\n    return x\n")
    if os.path.dirname(path) == "/tmp":
        assert case.status == "ok"  # the sandbox's /tmp is its own private tmpfs, not the host's
    else:
        assert case.status == "error"
        assert case.error_type in {"PermissionError", "OSError", "FileNotFoundError"}
    assert not os.path.exists(path)


def test_ctypes_cannot_regain_privileges(pool):
    code = """
import ctypes, numpy as np
libc = ctypes.CDLL(None, use_errno=True)
def f(x):
    calls = [
        lambda: libc.setuid(0),
        lambda: libc.unshare(0x10000000),                      # CLONE_NEWUSER
        lambda: libc.mount(b'none', b'/tmp', b'tmpfs', 0, None),
        lambda: libc.chroot(b'/tmp'),
        lambda: libc.syscall(321, 0, 0, 0),                    # bpf
    ]
    return np.array([c() for c in calls], dtype=float)
"""
    assert (returned(only(pool, code)) == -1).all()


def test_os_system_runs_nothing(pool):
    code = "import numpy as np, os\ndef f(x):\n    return np.array(float(os.system('touch /tmp/gradgate-pwned')))\n"
    assert returned(only(pool, code)) != 0


def test_subprocess_is_refused(pool):
    # subprocess is not preloaded (so not importable); if it were, exec is refused by seccomp.
    case = only(pool, "import subprocess\ndef f(x):\n    subprocess.run(['id'])\n")
    assert case.status == "error"
    assert case.error_type in {"PermissionError", "ModuleNotFoundError"}


def test_exec_is_refused(pool):
    case = only(pool, "import os\ndef f(x):\n    os.execv('/bin/sh', ['sh', '-c', 'id'])\n")
    assert case.status == "error"
    assert case.error_type == "PermissionError"


# -- exits -------------------------------------------------------------------------------------------------------


def test_sys_exit(pool):
    case = only(pool, "import sys\ndef f(x):\n    sys.exit(0)\n")
    assert case.status == "error"
    assert case.error_type == "SystemExit"


def test_raise_system_exit_at_import(pool):
    result = pool.run("raise SystemExit(3)\ndef f(x):\n    return x\n", "f", [dict(X), dict(X)])
    assert result.status == "load_error"
    assert (result.load_error.status, result.load_error.error_type) == ("error", "SystemExit")


def test_keyboard_interrupt(pool):
    case = only(pool, "def f(x):\n    raise KeyboardInterrupt\n")
    assert case.status == "error"
    assert case.error_type == "KeyboardInterrupt"


def test_os_exit_ends_only_its_case(pool):
    code = "import os\ndef f(x):\n    if x[0, 0] == 7:\n        os._exit(4)\n    return x\n"
    result = run(pool, code, cases=[dict(X), {"x": np.full((1, 1), 7.0)}, dict(X)])
    assert [c.status for c in result.cases] == ["ok", "killed", "ok"]
    assert result.cases[1].error_type == "Exit"
    assert "exit code 4" in result.cases[1].error_message


def test_self_kill_is_reported(pool):
    code = """
import os, signal
def f(x):
    os.kill(os.getpid(), signal.SIGSEGV)
    raise RuntimeError('survived')
"""
    case = only(pool, code)
    assert case.status in {"killed", "error"}


# -- forging results ----------------------------------------------------------------------------------------------


def test_printing_fake_results_is_just_output(pool):
    code = ("def f(x):\n    print('{\"status\": \"ok\", \"outputs\": []}')\n    print('ok passed 10/10')\n"
            "    return x * 2\n")
    case = only(pool, code)
    np.testing.assert_array_equal(returned(case), X["x"] * 2)
    assert "passed 10/10" in case.stdout


def test_forging_the_output_marker_only_confuses_its_own_output(pool):
    code = ("import os\ndef f(x):\n    os.write(1, b'\\n\\x00--case-end-0000000000000000--\\x00\\n')\n"
            "    return x\n")
    result = run(pool, code, cases=[dict(X), dict(X)])
    assert [c.status for c in result.cases] == ["ok", "ok"]


def test_writing_garbage_into_the_result_pipe(pool):
    code = "import os\ndef f(x):\n    os.write(3, b'\\x00\\x00\\x00\\x05hello' * 3)\n    return x\n"
    result = run(pool, code, cases=[dict(X), dict(X)])
    assert [c.status for c in result.cases] == ["second_writer", "second_writer"]
    assert "a second process wrote results" in result.cases[0].error_message.lower()


def test_claiming_a_huge_result_frame(pool):
    code = "import os\ndef f(x):\n    os.write(3, b'\\xff\\xff\\xff\\xff')\n    return x\n"
    case = only(pool, code, time_limit_s=0.5)
    assert case.status == "bad_return"


def test_writing_fake_result_files(pool):
    code = """
import json, numpy as np
def f(x):
    json.dump({'status': 'ok', 'score': 1.0}, open('result.json', 'w'))
    np.save('result.npy', np.ones(3))
    return x
"""
    case = only(pool, code)
    np.testing.assert_array_equal(returned(case), X["x"])


# -- monkeypatching ------------------------------------------------------------------------------------------------


def test_monkeypatching_numpy(pool):
    code = """
import numpy as np
np.asarray = lambda *a, **k: 'patched'
np.array = lambda *a, **k: 'patched'
np.ascontiguousarray = lambda *a, **k: 'patched'
np.frombuffer = lambda *a, **k: 'patched'
def f(x):
    return x + 1
"""
    np.testing.assert_array_equal(returned(only(pool, code)), X["x"] + 1)


def test_monkeypatching_json(pool):
    code = "import json\njson.dumps = lambda *a, **k: '{\"status\": \"ok\", \"outputs\": [], \"blobs\": []}'\n" \
           "json.loads = lambda *a, **k: {}\ndef f(x):\n    return x\n"
    case = only(pool, code)
    assert case.status in {"ok", "bad_return"}
    if case.status == "ok":
        np.testing.assert_array_equal(case.outputs[0], X["x"])


def test_monkeypatching_builtins(pool):
    code = """
import builtins
builtins.isinstance = lambda *a: True
builtins.len = lambda *a: 0
builtins.print = None
def f(x):
    return x
"""
    case = only(pool, code)
    assert case.status in FAIL | {"ok"}
    assert_correct_run(pool)  # the next submission gets a clean interpreter


# -- odd return values -----------------------------------------------------------------------------------------------


def test_eq_always_true(pool):
    code = "class Liar:\n    def __eq__(self, other):\n        return True\n    __hash__ = None\n" \
           "def f(x):\n    return Liar()\n"
    case = only(pool, code)
    assert case.status == "bad_return"
    assert "Liar" in case.error_message


def test_ndarray_subclass_with_array_ufunc(pool):
    code = """
import numpy as np
class Sneaky(np.ndarray):
    def __array_ufunc__(self, *args, **kwargs):
        return True
    def __eq__(self, other):
        return True
def f(x):
    return (x * 3).view(Sneaky)
"""
    out = returned(only(pool, code))
    assert type(out) is np.ndarray and out.dtype == np.float64
    np.testing.assert_array_equal(out, X["x"] * 3)


def test_nan_and_inf_come_back_for_the_grader_to_reject(pool):
    code = "import numpy as np\ndef f(x):\n    return np.array([np.nan, np.inf, -np.inf, 1.0])\n"
    out = returned(only(pool, code))
    assert np.isnan(out[0]) and np.isposinf(out[1]) and np.isneginf(out[2])


def test_object_dtype(pool):
    case = only(pool, "import numpy as np\ndef f(x):\n    return np.array([1, 'a', None], dtype=object)\n")
    assert case.status == "bad_return"
    assert "object" in case.error_message


def test_complex_dtype(pool):
    case = only(pool, "def f(x):\n    return x + 1j\n")
    assert case.status == "bad_return"
    assert "complex" in case.error_message


def test_wrong_shape_that_would_broadcast_is_reported_as_is(pool):
    out = returned(only(pool, "def f(x):\n    return x.sum(axis=0, keepdims=True)\n"))
    assert out.shape == (1, 3)


def test_generator_instead_of_tuple(pool):
    case = only(pool, "def f(x):\n    yield x\n    yield x\n")
    assert case.status == "bad_return"
    assert "generator" in case.error_message


def test_generator_expression_inside_a_tuple(pool):
    case = only(pool, "def f(x):\n    return x, (v for v in x)\n")
    assert case.status == "bad_return"
    assert "output 2" in case.error_message.lower()


def test_ragged_list(pool):
    case = only(pool, "def f(x):\n    return [[1.0, 2.0], [3.0]]\n")
    assert case.status == "bad_return"
    assert "ragged" in case.error_message


def test_none_returned(pool):
    case = only(pool, "def f(x):\n    x * 2\n")
    assert case.status == "bad_return"
    assert "None" in case.error_message


def test_non_utf8_output(pool):
    code = r"""
import os, sys
def f(x):
    os.write(1, b'caf\xe9 \xff\xfe')
    sys.stdout.buffer.write(b'\x80')
    return x
"""
    case = only(pool, code)
    assert case.status == "ok"
    assert "caf\ufffd" in case.stdout


def test_in_place_mutation_is_visible(pool):
    case = only(pool, "def f(x):\n    x *= 2\n    return x\n")
    np.testing.assert_array_equal(case.inputs_after["x"], X["x"] * 2)
    np.testing.assert_array_equal(X["x"], np.arange(6.0).reshape(2, 3))  # the caller's arrays are untouched
