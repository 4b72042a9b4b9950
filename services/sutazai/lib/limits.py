"""CPU-heavy work (parsing uploads, symbolic algebra) in a separate process with a hard limit on
time and memory, so that one pathological input can neither stall a service's event loop nor
run forever: pebble's ProcessPool kills a worker whose task overruns and starts a fresh one.

Workers are started by a fork server (never forked from the threaded service process) and cap
their own address space on start."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import multiprocessing
import pickle
import resource
from collections.abc import Callable
from typing import Any, TypeVar

from pebble import ProcessExpired, ProcessPool

from sutazai.lib.errors import SutazaiError

logger = logging.getLogger(__name__)
T = TypeVar("T")


class LimitExceeded(Exception):
    """The work ran past its time limit, or its process died (most often: out of memory)."""


def _cap_memory(max_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (max_bytes, max_bytes))


def _guarded(fn: Callable[..., T], args: tuple[Any, ...]) -> tuple[str, Any]:
    """Run in the worker: domain errors come back as (class, detail), other exceptions as
    themselves when they survive pickling, else by name and message."""
    try:
        return "ok", fn(*args)
    except SutazaiError as exc:
        return "domain", (type(exc), exc.detail)
    except MemoryError:
        return "limit", "it needed more memory than the limit allows"
    except Exception as exc:  # noqa: BLE001 - reported to the caller, which decides
        try:
            pickle.loads(pickle.dumps(exc))  # noqa: S301 - our own bytes, just made
        except Exception:  # noqa: BLE001 - not picklable: described instead
            return "error", (type(exc).__name__, str(exc))
        return "raise", exc


class Sandbox:
    """A small pool of worker processes for bounded work."""

    def __init__(self, *, workers: int = 1, memory_bytes: int = 2 * 1024**3,
                 preload: tuple[str, ...] = ()) -> None:
        self._workers, self._memory, self._preload = workers, memory_bytes, preload
        self._pool: ProcessPool | None = None

    def _get_pool(self) -> ProcessPool:
        if self._pool is None or not self._pool.active:
            context = multiprocessing.get_context("forkserver")
            if self._preload:
                context.set_forkserver_preload(list(self._preload))
            self._pool = ProcessPool(max_workers=self._workers, context=context,
                                     initializer=_cap_memory, initargs=(self._memory,))
        return self._pool

    async def run(self, fn: Callable[..., T], *args: Any, seconds: float) -> T:
        """`fn(*args)` in a worker. Raises the domain error `fn` raised, LimitExceeded when it
        overran `seconds` or its worker died, RuntimeError for any other failure."""
        future = self._get_pool().schedule(_guarded, args=(fn, args), timeout=seconds)
        try:
            outcome, value = await asyncio.wrap_future(future)
        except concurrent.futures.TimeoutError as exc:
            raise LimitExceeded(f"it took longer than {seconds:g} s") from exc
        except ProcessExpired as exc:
            raise LimitExceeded(f"its worker process died (exit code {exc.exitcode}; most often: out of "
                                "memory)") from exc
        except asyncio.CancelledError:
            future.cancel()  # type: ignore[no-untyped-call]  # pebble stops the worker running it
            raise
        if outcome == "ok":
            return value  # type: ignore[no-any-return]
        if outcome == "domain":
            kind, detail = value
            raise kind(detail)
        if outcome == "limit":
            raise LimitExceeded(str(value))
        if outcome == "raise":
            raise value
        raise RuntimeError(f"{value[0]}: {value[1]}")

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.stop()  # type: ignore[no-untyped-call]
            await asyncio.to_thread(pool.join, 5)
