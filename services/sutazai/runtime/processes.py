"""Small, careful process helpers: we only ever signal PIDs we started and recorded."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import psutil


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def is_alive(pid: int | None, *, cmdline_hint: str | None = None) -> bool:
    """The process exists (not a zombie) and, if given, its command line contains the hint,
    so a PID reused by an unrelated program is never mistaken for ours."""
    if not pid:
        return False
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return cmdline_hint is None or cmdline_hint in " ".join(proc.cmdline())
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return False


def terminate(pid: int, *, cmdline_hint: str | None, timeout: float = 15.0) -> bool:
    """SIGTERM the process (then SIGKILL after `timeout`); returns True if it was running."""
    if not is_alive(pid, cmdline_hint=cmdline_hint):
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return True
        time.sleep(0.1)
    if is_alive(pid, cmdline_hint=cmdline_hint):
        os.kill(pid, signal.SIGKILL)
    return True


def read_pidfile(path: Path) -> int | None:
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def tail(path: Path, lines: int = 5) -> str:
    try:
        content = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(content[-lines:])
