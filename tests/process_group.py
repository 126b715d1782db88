"""Stopping a child started with ``start_new_session=True``: its whole process group, bounded."""

from __future__ import annotations

import os
import signal
import subprocess

import zygote


def stop_group(proc: subprocess.Popen | zygote.Child | None, timeout: float) -> int | None:
    """SIGTERM the group, wait up to ``timeout`` s, then SIGKILL it; returns the exit code (None: no process)."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(5)
    return proc.returncode
