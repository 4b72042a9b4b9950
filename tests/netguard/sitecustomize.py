"""The loopback-only rule for every Python process a test starts (a stack under `sutazai up`, a
worker, the CLI, Patroni): tests/conftest.py puts this folder first on PYTHONPATH, so Python loads
this module at start. A connection to an address outside 127.0.0.0/8 and ::1 (and the hosts of
SUTAZAI_TEST_<NAME>_URL, an operator's choice) is refused with PermissionError, as a firewall
would, and written to SUTAZAI_TEST_NETGUARD_LOG; the test session fails when that file is not
empty. Standard library only: it runs in any Python, with or without SutazAI installed."""

from __future__ import annotations

import errno
import ipaddress
import os
import socket
import sys
from typing import Any

_LOG = os.environ.get("SUTAZAI_TEST_NETGUARD_LOG")
_ALLOWED = {h for h in os.environ.get("SUTAZAI_TEST_NETGUARD_ALLOW", "").split(",") if h}


def allowed(address: Any, also: set[str] | frozenset[str] = frozenset()) -> bool:
    """Loopback, a Unix socket, or one of the hosts `also` names (the operator's real servers).
    tests/conftest.py applies the same rule to the pytest process itself."""
    if not isinstance(address, tuple):
        return True  # AF_UNIX paths and the like never leave the machine
    host = str(address[0])
    if host == "localhost" or host in also:
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a host name: refuse rather than resolve it


def _refuse(address: Any) -> PermissionError:
    line = f"pid {os.getpid()} ({' '.join(sys.argv)[:200]}) tried to connect to {address!r}\n"
    if _LOG:
        try:
            with open(_LOG, "a", encoding="utf-8") as log:
                log.write(line)
        except OSError:
            pass
    return PermissionError(errno.EACCES, f"the test network guard refuses {address!r}: only loopback is allowed")


if _LOG:
    _connect, _connect_ex = socket.socket.connect, socket.socket.connect_ex

    def _guarded_connect(self: socket.socket, address: Any) -> None:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not allowed(address, _ALLOWED):
            raise _refuse(address)
        _connect(self, address)

    def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not allowed(address, _ALLOWED):
            _refuse(address)
            return errno.EACCES
        return _connect_ex(self, address)

    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
