"""Running a webhook's database work off the event loop, in the order it came on SQLite."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool

P = ParamSpec("P")
T = TypeVar("T")


class DatabaseWork:
    """Runs a webhook's database work off the event loop: on SQLite one at a time, in the
    order the requests came, on a thread of its own; elsewhere on Starlette's thread pool.
    Every SQLite transaction takes the database's one write lock at BEGIN (db/engine.py), so
    webhooks cannot write side by side there anyway, and threads queued on that lock wait
    in SQLite's busy handler, which sleeps in steps of up to 100 ms: with 32 replies in
    flight p99 was over a second, and 150 ms still when they queued on a lock that is not
    first come, first served."""

    def __init__(self, engine: Engine) -> None:
        self._sqlite = (
            ThreadPoolExecutor(1, thread_name_prefix="sqlite-writes")
            if engine.dialect.name == "sqlite"
            else None
        )

    async def __call__(self, work: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        if self._sqlite is None:
            return await run_in_threadpool(work, *args, **kwargs)
        call = functools.partial(work, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._sqlite, call)
