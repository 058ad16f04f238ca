"""Following the database from a kernel: a step called about once a second, for a while.

Each Voila page runs its own kernel, so a page that must follow what others do (a class
session) reads the database on a timer. The timer is an asyncio task on the kernel's own event
loop, not a thread: widgets are then changed on the loop that handles their messages, and a
step never runs while a click is being handled. Polling is bounded: it ends when the step says
so (the session ended), when `stop` is called (the widget closed), or after `limit` seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

POLL_SECONDS = 1.0  # a change shows on every page within about a second
POLL_LIMIT = 4 * 3600  # a session is a class, not a day: a forgotten tab stops polling


class Poller:
    """Calls `step` every `every` seconds on the running event loop until `step` returns False,
    `stop` is called, or `limit` seconds have passed. Without a running loop (plain Python) it
    does not start: call the step yourself. An error in `step` ends it and is logged."""

    def __init__(self, step: Callable[[], bool], every: float = POLL_SECONDS,
                 limit: float = POLL_LIMIT):
        self.step, self.every, self.limit = step, every, limit
        self._task: asyncio.Task | None = None

    def start(self) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return False
        self.stop()
        self._task = loop.create_task(self._run(loop))
        self._task.add_done_callback(self._ended)
        return True

    async def _run(self, loop: asyncio.AbstractEventLoop) -> None:
        deadline = loop.time() + self.limit
        while loop.time() < deadline:
            await asyncio.sleep(self.every)
            if not self.step():
                return

    def _ended(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("polling stopped by an error", exc_info=task.exception())

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
