"""Figures about a server's process tree for the benchmarks: memory, quiet, percentiles."""

from __future__ import annotations

import threading
import time

import psutil


def pct(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Memory:
    """Peak RSS of a process tree, sampled in a thread; per-kernel USS on demand."""

    def __init__(self, pid: int):
        self.root, self.peak, self._stop = psutil.Process(pid), 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _tree(self) -> list[psutil.Process]:
        return [self.root, *self.root.children(recursive=True)]

    def _sample(self) -> None:
        while not self._stop.wait(0.5):
            total = 0
            for p in self._tree():
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)

    def kernel_uss(self) -> list[float]:
        found = []
        for p in self._tree():
            try:
                if "ipykernel" in " ".join(p.cmdline()):
                    found.append(p.memory_full_info().uss / 2**20)
            except psutil.Error:
                pass
        return found

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


def wait_quiet(pid: int, limit: float = 600, busy: float = 25.0) -> float:
    """Wait until a server and its kernels use under `busy` % of one core over 3 s (the warm
    kernels have run their notebooks); the seconds waited, at most `limit`."""
    root, start = psutil.Process(pid), time.monotonic()
    while time.monotonic() - start < limit:
        tree = [root, *root.children(recursive=True)]
        for p in tree:
            try:
                p.cpu_percent(None)
            except psutil.Error:
                pass
        time.sleep(3)
        used = 0.0
        for p in tree:
            try:
                used += p.cpu_percent(None)
            except psutil.Error:
                pass
        if used < busy:
            break
    return time.monotonic() - start
