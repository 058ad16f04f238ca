"""The learners' kernel manager (casebook/serve/kernels.py) with a real kernel and no server:
a cull sweep landing while a pool's kernel starts (as it can on a loaded machine) neither
counts the kernel against the cap nor starts its "no page connected" clock, which starts
when a page is handed the kernel; and a client's kernels are shed oldest unconnected first.

The culling clock is replaced by a counter the test moves, so nothing here waits or times."""

from __future__ import annotations

import asyncio
import os

import pytest

from casebook.serve.kernels import PREHEAT_ENV, CasebookKernelManager

TIMEOUT = 60


class SweptWhileStarting(CasebookKernelManager):
    """Runs a cull sweep's check on the kernel between its launch and the end of its start."""

    def _finish_kernel_start(self, kernel_id):
        self.seen = {"listed": kernel_id in self.list_kernel_ids(),
                     "in_use": self.kernels_in_use(), "pool_starting": self.starting_for_pools()}
        swept = self.cull_kernel_if_idle(kernel_id)
        finish = super()._finish_kernel_start(kernel_id)

        async def both():
            await swept
            await finish

        return both()


def run(scenario, tmp_path):
    async def main():
        km = SweptWhileStarting(unconnected_timeout=TIMEOUT, connection_dir=str(tmp_path))
        clock = [1000.0]
        km.now = lambda: clock[0]
        try:
            return await asyncio.wait_for(scenario(km, clock), 120)
        finally:
            await km.shutdown_all()

    return asyncio.run(main())


def start(km, pooled: bool):
    env = {**os.environ, PREHEAT_ENV: "True" if pooled else "False"}
    return km.start_kernel(kernel_name="python3", env=env)


def test_a_kernel_a_pool_is_starting_does_not_count_and_its_clock_starts_at_hand_over(tmp_path):
    async def scenario(km, clock):
        kernel_id = await start(km, pooled=True)
        assert km.seen == {"listed": True, "in_use": 0, "pool_starting": {kernel_id}}
        assert km.starting_for_pools() == set()
        clock[0] += 10 * TIMEOUT  # it waited ten minutes, warm, in its pool
        km.handed_over(kernel_id, "a-client")
        clock[0] += TIMEOUT - 1
        await km.cull_kernel_if_idle(kernel_id)
        alive_before_timeout = kernel_id in km.list_kernel_ids()
        clock[0] += 2
        await km.cull_kernel_if_idle(kernel_id)
        return alive_before_timeout, kernel_id in km.list_kernel_ids()

    assert run(scenario, tmp_path) == (True, False)  # culled after the timeout, not before


def test_a_kernel_started_for_a_page_counts_once_started_not_twice_while_it_starts(tmp_path):
    """While it starts, the page's ticket counts it (casebook.serve.servers)."""
    async def scenario(km, clock):
        await start(km, pooled=False)
        return km.seen, km.kernels_in_use()

    seen, in_use = run(scenario, tmp_path)
    assert seen == {"listed": True, "in_use": 0, "pool_starting": set()}
    assert in_use == 1


@pytest.fixture
def manager(monkeypatch):
    km = CasebookKernelManager()
    monkeypatch.setattr(km, "list_kernel_ids", lambda: ["k1", "k2", "k3", "k4"])
    km._kernel_connections.update({"k1": 1, "k2": 0, "k3": 0, "k4": 0})
    clock = [0.0]
    km.now = lambda: clock[0]
    for kernel_id, client in [("k2", "storm"), ("k1", "storm"), ("k3", "storm"),
                              ("k4", "learner"), ("gone", "storm")]:
        clock[0] += 1
        km.handed_over(kernel_id, client)
    return km


def test_a_clients_kernels_are_listed_oldest_first_and_only_its_own_live_ones(manager):
    assert manager.client_kernels("storm") == ["k2", "k1", "k3"]
    assert manager.client_kernels("learner") == ["k4"]
    assert manager.client_kernels("nobody") == []


def test_the_kernel_to_shed_is_the_clients_oldest_with_no_page_connected(manager):
    assert manager.oldest_unconnected("storm") == "k2"
    manager.notify_connect("k2")
    assert manager.oldest_unconnected("storm") == "k3"  # k1 is connected: kept
    manager.forget({"k3"})
    assert manager.oldest_unconnected("storm") is None
