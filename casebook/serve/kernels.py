"""The learners' kernels as the casebook counts them: who holds each, and when to let it go.

Voila wraps this manager in its preheating one (`voila_kernel_manager_factory`), so the warm
kernels of the pools are Voila's; this class adds what Voila has no setting for:

- a kernel is *starting* from the call to `start_kernel` until it returns. A pool's kernel
  is listed by the manager some event-loop turns before its pool task is done, so a cull
  sweep could see it, unpooled and unconnected, while it starts; it is neither held by a
  page nor culled then, and does not count against the cap (a page's starting kernel is
  counted by the page's own ticket, see `casebook.serve.servers.CappedVoilaHandler`);
- a kernel is *handed over* when a page gets it (`handed_over`, called by the page handler):
  its "no page connected" clock starts then, never while it waited in its pool;
- every kernel handed over is noted with its client (a cookie, see `casebook.serve.servers`),
  so that one client's reload loop sheds its own oldest unconnected kernel
  (`oldest_unconnected`) instead of filling the cap for the room.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime

from jupyter_server.services.kernels.kernelmanager import AsyncMappingKernelManager
from traitlets import Integer

PREHEAT_ENV = "VOILA_PREHEAT"  # Voila starts its pools' kernels with this set to "True"


class CasebookKernelManager(AsyncMappingKernelManager):
    """Kernels that count what pages hold and cull those no page is connected to."""

    unconnected_timeout = Integer(
        60, config=True,
        help="Seconds a kernel handed to a page may go with no page connected (its page never "
             "connected, or left without shutting it down) before it is culled; 0: never. "
             "Checked every cull_interval; the clock starts when a page is handed the kernel.",
    )

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self._unconnected_since: dict[str, float] = {}
        self._starting: dict[str, bool] = {}  # kernel id -> started for a pool
        self._client_of: dict[str, str] = {}  # kernel id -> the client it was handed to
        self._handed_at: dict[str, float] = {}

    @staticmethod
    def now() -> float:
        """The culling clock (monotonic seconds); a test may replace it."""
        return time.monotonic()

    async def start_kernel(self, *args, **kwargs) -> str:
        kernel_id = kwargs.get("kernel_id") or str(uuid.uuid4())
        kwargs["kernel_id"] = kernel_id  # known before the start, so a sweep can skip it
        pooled = (kwargs.get("env") or {}).get(PREHEAT_ENV) == "True"
        self._starting[kernel_id] = pooled
        try:
            return await super().start_kernel(*args, **kwargs)
        finally:
            self._starting.pop(kernel_id, None)

    def handed_over(self, kernel_id: str, client: str | None = None) -> None:
        """A page has been given `kernel_id` (from a pool or just started): its clock starts."""
        self._handed_at[kernel_id] = self.now()
        if self._kernel_connections.get(kernel_id, 0) == 0:
            self._unconnected_since[kernel_id] = self._handed_at[kernel_id]
        if client:
            self._client_of[kernel_id] = client

    def notify_connect(self, kernel_id: str) -> None:
        super().notify_connect(kernel_id)
        self._unconnected_since.pop(kernel_id, None)
        if kernel_id in self._kernels:  # a connection is activity: a pooled kernel idled
            self._kernels[kernel_id].last_activity = datetime.now(UTC)

    def notify_disconnect(self, kernel_id: str) -> None:
        super().notify_disconnect(kernel_id)
        if self._kernel_connections.get(kernel_id) == 0:
            self._unconnected_since[kernel_id] = self.now()

    def pooled_kernel_ids(self) -> set[str]:
        """Kernels waiting, warm, in Voila's preheat pools (none without preheat)."""
        tasks = (t for pool in getattr(self, "_pools", {}).values() for t in pool)
        return {t.result()["kernel_id"] for t in tasks
                if t.done() and not t.cancelled() and t.exception() is None}

    def starting_for_pools(self) -> set[str]:
        """Kernels a pool is still starting: listed, or about to be, but no page's yet."""
        return {k for k, pooled in self._starting.items() if pooled}

    def kernels_in_use(self) -> int:
        """Kernels held by pages: every live kernel but the pools' warm ones and those still
        starting (a pool's belong to no page; a page's is counted by the page handler's
        ticket until it is handed over, so it is not counted twice)."""
        return len(set(self.list_kernel_ids()) - self.pooled_kernel_ids() - set(self._starting))

    def client_kernels(self, client: str) -> list[str]:
        """The live kernels handed to `client`, oldest first."""
        live = set(self.list_kernel_ids())
        mine = [k for k, c in self._client_of.items() if c == client and k in live]
        return sorted(mine, key=lambda k: self._handed_at.get(k, 0.0))

    def oldest_unconnected(self, client: str) -> str | None:
        """The client's oldest kernel with no page connected, to shed for its new page."""
        for kernel_id in self.client_kernels(client):
            if self._kernel_connections.get(kernel_id, 0) == 0:
                return kernel_id
        return None

    async def shutdown_kernel(self, kernel_id: str, *args, **kwargs) -> None:
        await super().shutdown_kernel(kernel_id, *args, **kwargs)
        self.forget({kernel_id})

    def forget(self, gone: set[str]) -> None:
        """Drop the notes kept on kernels that are gone."""
        for notes in (self._unconnected_since, self._client_of, self._handed_at):
            for kernel_id in gone & set(notes):
                del notes[kernel_id]

    async def cull_kernels(self) -> None:
        live = set(self.list_kernel_ids())
        self.forget((set(self._unconnected_since) | set(self._client_of) | set(self._handed_at))
                     - live)
        await super().cull_kernels()

    async def cull_kernel_if_idle(self, kernel_id: str) -> None:
        # Voila's preheating manager asks here only about kernels out of its warm pools; one
        # still starting (for a pool or for a page) has no page to connect yet.
        if kernel_id in self._starting:
            return
        if self._kernel_connections.get(kernel_id, 0) == 0 and self.unconnected_timeout > 0:
            since = self._unconnected_since.setdefault(kernel_id, self.now())
            if self.now() - since > self.unconnected_timeout:
                self.log.warning("Culling kernel %s: no page connected for %ss",
                                 kernel_id, self.unconnected_timeout)
                await self.shutdown_kernel(kernel_id)
            return
        await super().cull_kernel_if_idle(kernel_id)
