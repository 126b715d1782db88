"""Real child processes that do not pay for their imports each time: a "zygote" imports once, then forks.

Importing freqtrade costs about 3 s of CPU and ccxt about 1 s, and the suite starts some ninety bots and runs
the CLI some hundred times on 2 cores: most of its CPU went to importing the same modules again. A zygote (one
per kind, per test worker, started on first use) imports the expensive modules, then forks one child per
request. The child is what the console script or ``python -m`` would be: a process of its own (in its own
session when asked, as ``start_new_session=True`` makes one) with the given argv, environment, working
directory, stdin, stdout and stderr, its signals at their defaults, running the entry point; its exit code is
reported back as :attr:`Child.returncode`, as :class:`subprocess.Popen` reports it (negative: killed by that
signal).

The zygote has no threads (its loop is one ``select`` over its requests and a pidfd per child), so forking it
is safe; the test worker, with its simulator threads, never forks. Where ``fork`` or ``os.pidfd_open`` is
missing, or ``BINGX_TEST_FORK=0``, the callers start plain subprocesses instead.
"""

from __future__ import annotations

import atexit
import itertools
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# The zygote's own code: one JSON request per line on stdin; on stdout, one JSON line with each child's pid
# and one with its exit status when it ends.
_ZYGOTE = r'''
import atexit, importlib, json, os, runpy, selectors, signal, sys
exec(sys.argv[2])  # what must hold before the imports (the bots': the launcher's LAUNCHING, as its main() sets it)
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
out = os.fdopen(os.dup(1), "w", buffering=1)
selector = selectors.DefaultSelector()
selector.register(0, selectors.EVENT_READ)
children = {}  # pidfd -> (pid, request id)
pending = b""


def run_child(request):
    """In the forked child: become the requested process, run its entry point, exit with its code."""
    code = 1
    try:
        selector.close()
        for pidfd in children:
            os.close(pidfd)
        os.close(out.fileno())
        if request["new_session"]:
            os.setsid()
        # as a fresh interpreter has them (SIGPIPE stays ignored, as Python sets it)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for fd, path, mode in ((0, request["stdin"], os.O_RDONLY), (1, request["stdout"], os.O_WRONLY),
                               (2, request["stderr"], os.O_WRONLY)):
            opened = os.open(path, mode | (os.O_APPEND if fd else 0))
            os.dup2(opened, fd)
            os.close(opened)
        sys.stdin = open(0, encoding="utf-8", closefd=False)
        sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)
        sys.argv = [request["argv0"], *request["args"]]
        kind, target = request["target"]
        if kind == "module":  # python -m target
            runpy.run_module(target, run_name="__main__", alter_sys=True)
            code = 0
        elif kind == "code":  # python -c target
            exec(compile(target, "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
            code = 0
        else:  # a console script: sys.exit(module.function())
            module, function = target.split(":")
            result = getattr(importlib.import_module(module), function)()
            code = result if isinstance(result, int) else (0 if result is None else 1)
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    except BaseException:
        import traceback
        traceback.print_exc()
    finally:
        try:
            atexit._run_exitfuncs()  # what an interpreter's exit runs (logging's flush among them)
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


while True:
    for key, _ in selector.select():
        if key.fd == 0:
            chunk = os.read(0, 65536)
            if not chunk:  # the test worker is gone: end what it left running, then end
                for pidfd, (pid, _) in children.items():
                    try:
                        os.killpg(pid, signal.SIGKILL) if os.getpgid(pid) == pid else os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                sys.exit(0)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                pid = os.fork()
                if pid == 0:
                    run_child(request)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = (pid, request["id"])
                selector.register(pidfd, selectors.EVENT_READ)
                out.write(json.dumps({"id": request["id"], "pid": pid}) + "\n")
        else:
            pid, request_id = children.pop(key.fd)
            selector.unregister(key.fd)
            os.close(key.fd)
            _, status = os.waitpid(pid, 0)
            out.write(json.dumps({"id": request_id, "status": os.waitstatus_to_exitcode(status)}) + "\n")
'''


def forking() -> bool:
    """Whether children come from a zygote (else the callers start plain subprocesses)."""
    return (hasattr(os, "fork") and hasattr(os, "pidfd_open")
            and os.environ.get("BINGX_TEST_FORK", "1") != "0")


class Zygote:
    """One zygote process that has run ``before``, then imported ``preload``; :meth:`spawn` forks a
    :class:`Child` from it."""

    def __init__(self, preload: list[str], env: dict[str, str] | None = None, before: str = "") -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _ZYGOTE, json.dumps(preload), before],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        assert self.process.stdin is not None and self.process.stdout is not None
        self.requests, self.answers = self.process.stdin, self.process.stdout.fileno()
        self.buffer = b""
        self.pids: dict[int, int] = {}  # request id -> pid
        self.statuses: dict[int, int] = {}  # request id -> exit code (a pid can be reused, a request id cannot)
        self.lock = threading.Lock()
        self.ids = itertools.count()
        atexit.register(self.stop)

    def alive(self) -> bool:
        return self.process.poll() is None

    def _pump(self, timeout: float) -> None:
        """Read what the zygote has answered, waiting at most ``timeout`` s for the first line (lock held)."""
        ready = select.select([self.answers], [], [], max(timeout, 0))[0]
        while ready:
            chunk = os.read(self.answers, 65536)
            if not chunk:
                raise RuntimeError("the zygote exited")
            self.buffer += chunk
            ready = select.select([self.answers], [], [], 0)[0]
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            answer = json.loads(line)
            if "status" in answer:
                self.statuses[answer["id"]] = answer["status"]
            else:
                self.pids[answer["id"]] = answer["pid"]

    def wait_for(self, found: Any, timeout: float | None) -> bool:
        """Pump the zygote's answers until ``found()`` holds (True) or ``timeout`` s pass (False)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self.lock:
                if found():
                    return True
                left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                self._pump(left)
                if found():
                    return True
            if deadline is not None and time.monotonic() >= deadline:
                return False

    def spawn(self, target: tuple[str, str], argv0: str, args: list[str], *, env: dict[str, str], cwd: str,
              stdin: str = os.devnull, stdout: str, stderr: str, new_session: bool = False) -> Child:
        """Fork a child running ``target`` (``("module", name)``: ``python -m name``; ``("code", source)``:
        ``python -c source``; ``("script", "mod:func")``: a console script) with ``sys.argv = [argv0, *args]``;
        ``stdout``/``stderr`` are files it appends to."""
        request_id = next(self.ids)
        request = {"id": request_id, "target": list(target), "argv0": argv0, "args": args, "env": env, "cwd": cwd,
                   "stdin": stdin, "stdout": stdout, "stderr": stderr, "new_session": new_session}
        with self.lock:
            self.requests.write(json.dumps(request).encode() + b"\n")
            self.requests.flush()
        if not self.wait_for(lambda: request_id in self.pids, 30):
            raise RuntimeError("the zygote did not fork within 30 s")
        with self.lock:
            pid = self.pids.pop(request_id)
        return Child(self, request_id, pid, [argv0, *args])

    def run(self, target: tuple[str, str], argv0: str, args: list[str], *, env: dict[str, str], cwd: str,
            stdin: str = "", timeout: float = 60, new_session: bool = False) -> subprocess.CompletedProcess[str]:
        """:meth:`spawn` and wait: exit code, stdout and stderr, as ``subprocess.run(capture_output=True)``
        gives them (the child is killed at ``timeout`` and :class:`subprocess.TimeoutExpired` raised)."""
        with tempfile.TemporaryDirectory(prefix="bingx-zygote-") as tmp:
            paths = {name: Path(tmp) / name for name in ("stdin", "stdout", "stderr")}
            paths["stdin"].write_text(stdin, encoding="utf-8")
            paths["stdout"].touch()
            paths["stderr"].touch()
            child = self.spawn(target, argv0, args, env=env, cwd=cwd, stdin=str(paths["stdin"]),
                               stdout=str(paths["stdout"]), stderr=str(paths["stderr"]), new_session=new_session)
            try:
                status = child.wait(timeout)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait(10)
                raise subprocess.TimeoutExpired([argv0, *args], timeout) from None
            return subprocess.CompletedProcess([argv0, *args], status, paths["stdout"].read_text(encoding="utf-8"),
                                               paths["stderr"].read_text(encoding="utf-8"))

    def stop(self) -> None:
        """End the zygote (it SIGKILLs any child still running: every started process is stopped)."""
        if self.alive():
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Child:
    """A child forked by a :class:`Zygote`, with the part of :class:`subprocess.Popen`'s interface the suite uses."""

    def __init__(self, zygote: Zygote, request_id: int, pid: int, args: list[str]) -> None:
        self.zygote, self.request_id, self.pid, self.args = zygote, request_id, pid, args
        self.returncode: int | None = None

    def _ended(self) -> bool:
        if self.request_id in self.zygote.statuses:
            self.returncode = self.zygote.statuses.pop(self.request_id)
        return self.returncode is not None

    def poll(self) -> int | None:
        self.zygote.wait_for(self._ended, 0)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self.zygote.wait_for(self._ended, timeout):
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, number: int) -> None:
        if self.poll() is None:
            os.kill(self.pid, number)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


@dataclass
class Kind:
    """One kind of child the suite starts, and the one way to start it: forked from this kind's zygote (one per
    test worker, started on first use) where :func:`forking`, else ``command() + args`` exec'd as a subprocess.

    ``target`` is what the child runs (see :meth:`Zygote.spawn`), ``command`` the argv that execs the same;
    ``preload``, ``before`` and ``environment`` make the zygote.
    """

    target: tuple[str, str]
    command: Callable[[], list[str]]
    preload: list[str]
    before: str = ""
    environment: Callable[[], dict[str, str]] | None = None
    _zygote: Zygote | None = field(default=None, init=False, repr=False)

    def zygote(self) -> Zygote:
        if self._zygote is None or not self._zygote.alive():
            self._zygote = Zygote(self.preload, env=self.environment() if self.environment else None,
                                  before=self.before)
        return self._zygote

    def start(self, args: list[str], *, env: dict[str, str], cwd: Path, log: Path, new_session: bool = True,
              fork: bool = True) -> Child | subprocess.Popen[bytes]:
        """The child in the background, its stdout and stderr in ``log`` (emptied first)."""
        log.write_bytes(b"")
        if fork and forking():
            command = self.command()
            return self.zygote().spawn(self.target, command[-1], args, env=env, cwd=str(cwd), stdout=str(log),
                                       stderr=str(log), new_session=new_session)
        with open(log, "ab") as out:
            return subprocess.Popen(self.command() + args, stdout=out, stderr=subprocess.STDOUT, cwd=cwd, env=env,
                                    start_new_session=new_session)

    def run(self, args: list[str], *, env: dict[str, str], cwd: Path, stdin: str = "", timeout: float = 60,
            new_session: bool = False) -> subprocess.CompletedProcess[str]:
        """The child run to its end: exit code, stdout and stderr (``command() + args`` as its args)."""
        command = self.command()
        if not forking():
            return subprocess.run(command + args, env=env, input=stdin, capture_output=True, text=True,
                                  timeout=timeout, cwd=cwd, start_new_session=new_session, check=False)
        done = self.zygote().run(self.target, command[-1], args, env=env, cwd=str(cwd), stdin=stdin,
                                 timeout=timeout, new_session=new_session)
        return subprocess.CompletedProcess(command + args, done.returncode, done.stdout, done.stderr)
