"""A class of N learners arriving at a live session, at the protocol level, beside plain Voila.

Not a test: it prints (and with --json writes) figures. The casebook is served as `make serve`
serves it, with `CASEBOOK_CLASS_SIZE=N` and `CASEBOOK_CLASS_CASE=<case>` (its defaults for a
class: a pool of N warm kernels for the case, refills held back) and a scratch database. Once
the pool is warm the instructor (this script, through the session functions, as the console
calls them) opens a session; N learners arrive uniformly over --arrival seconds, each a bot
speaking HTTP and the kernel websocket as a page does (benchmarks/widget_client.py): it opens
the case page (half of them named, `?learner=`), types the join code and clicks Join, chooses
an option, and clicks Submit once voting is open. The instructor opens voting when the room has
joined, reads the tally twice a second while it votes, then closes and reveals.

Reported, p50 / p95 over learners: time to interactive (page request -> widget state received),
join -> joined, vote -> acknowledged, reveal -> feedback shown; the instructor's tally read;
busy (refused) pages; peak memory of the server and its kernels; per-kernel USS. Then plain
Voila (`voila`, preheated pool of N, fill_delay 3600) serving a one-button notebook to N
arrivals the same way, time to interactive only. Everything is on loopback, every wait is
bounded, and the servers are stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import psutil
from processes import Memory, pct, wait_quiet
from tornado.httpclient import AsyncHTTPClient
from widget_client import Page, Refused

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
from voila_server import VoilaServer, free_ports, get  # noqa: E402

ROOM = ("cb-room-who", "cb-option", "cb-submit", "cb-room-ack", "cb-feedback")  # a joined page
STEP = 120.0  # seconds any one step of a learner may take before it counts as failed
MINIMAL = {"cells": [{"cell_type": "code", "execution_count": None, "id": "c0", "metadata": {},
                      "outputs": [], "source": "import ipywidgets as w\nw.Button(description='Hi')"}],
           "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                       "name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}


class Room:
    """What the learners' bots share: the join code, the phase, and their figures."""

    def __init__(self, code: str):
        self.code = code
        self.voting = asyncio.Event()
        self.revealed = asyncio.Event()
        self.revealed_at = 0.0
        self.times: dict[str, list[float]] = {k: [] for k in ("http", "tti", "join", "vote", "reveal")}
        self.refused: list[int] = []
        self.failed: list[str] = []
        self.joined = self.acked = 0


async def learner(base: str, path: str, n: int, room: Room) -> None:
    page = Page(base, path, cookie=f"bench-learner-{n:04d}-{random.getrandbits(32):08x}")
    try:
        await page.open(STEP)
        room.times["tti"].append(page.timings["tti"])
        room.times["http"].append(page.timings["http"])
        code, = page.with_class("cb-join-code")
        page.update(code, value=room.code)
        clicked = joined_at = time.monotonic()
        page.click(page.with_class("cb-join")[0])
        await page.wait(lambda: all(page.with_class(css, clicked) for css in ROOM), STEP)
        room.times["join"].append(time.monotonic() - clicked)
        room.joined += 1
        option = page.with_class("cb-option", joined_at)[0]
        page.update(option, value=True)
        submit = page.with_class("cb-submit", joined_at)[0]
        await room.voting.wait()
        await page.wait(lambda: page.models[submit].get("disabled") is False, STEP)
        ack = page.with_class("cb-room-ack", joined_at)[0]
        clicked = time.monotonic()
        page.click(submit)
        await page.wait(lambda: "recorded" in page.models[ack].get("value", ""), STEP)
        room.times["vote"].append(time.monotonic() - clicked)
        room.acked += 1
        feedback = page.with_class("cb-feedback", joined_at)[0]
        await room.revealed.wait()
        await page.wait(lambda: bool(page.models[feedback].get("value")), STEP)
        room.times["reveal"].append(time.monotonic() - room.revealed_at)
    except Refused as err:
        room.refused.append(err.code)
    except (TimeoutError, IndexError, ValueError, KeyError, OSError) as err:
        room.failed.append(f"learner {n}: {type(err).__name__}: {err}")
    finally:
        await page.close()


async def instructor(url: str, case_id: str, room_size: int, room: Room, reads: list[float],
                     session) -> None:
    """Open voting once the room has joined, watch the tally, close and reveal."""
    from casebook.content.loading import load_library
    from casebook.records import store
    from casebook.rules import measures
    from casebook.rules.scoring import answer_key
    from casebook.sessions import machine
    from casebook.sessions import room as rooms

    engine = store.connect(url)
    case = load_library().cases[case_id]
    guideline = load_library().guideline_for(case)
    key = next(k for k in answer_key(guideline, case) if k.stage == case.stages[0].id)
    stages = [s.id for s in case.stages]
    deadline = time.monotonic() + 3 * STEP
    while room.joined + len(room.refused) + len(room.failed) < room_size:
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(0.5)
    state = machine.advance(engine, session, "open", stages)
    room.voting.set()
    deadline = time.monotonic() + STEP
    while room.acked < room.joined and time.monotonic() < deadline:
        start = time.monotonic()
        measures.tally(rooms.votes(engine, state.id, key.stage, named=False), key, state.round)
        reads.append(time.monotonic() - start)
        await asyncio.sleep(0.5)
    state = machine.advance(engine, state, "close", stages)
    state = machine.advance(engine, state, "reveal", stages)
    room.revealed_at = time.monotonic()
    room.revealed.set()
    engine.dispose()


def run_casebook(args) -> dict:
    from casebook.records import store
    from casebook.sessions import machine

    env = {"CASEBOOK_CLASS_SIZE": str(args.learners), "CASEBOOK_CLASS_CASE": args.case}
    server = VoilaServer(env=env)
    store.connect(server.env["CASEBOOK_DB"]).dispose()  # the records exist, as after a first use
    with server:
        server.wait_status(lambda st: st["pooled"] >= args.learners, 900, "the pool did not fill")
        time.sleep(args.settle)
        quiet = wait_quiet(server.proc.pid)  # the warm kernels have run up to the page's query
        print(f"pool warm; quiet after {quiet:.0f} s more", file=sys.stderr)
        url = server.env["CASEBOOK_DB"]
        engine = store.connect(url)
        from casebook.content.loading import load_library
        session = machine.create(engine, load_library().cases[args.case], "bench-key")
        engine.dispose()
        room, reads = Room(session.join_code), []
        memory = Memory(server.proc.pid)
        paths = [f"voila/render/cases/{args.case}.ipynb" + (f"?learner=Bench{i}" if i % 2 else "")
                 for i in range(args.learners)]

        async def main():
            learners = arrive_paths(server.url, paths, args.arrival, room)
            await asyncio.gather(learners, instructor(url, args.case, args.learners, room,
                                                      reads, session))

        t0 = time.monotonic()
        asyncio.run(asyncio.wait_for(main(), 10 * STEP))
        uss = memory.kernel_uss()
        memory.stop()
        status = server.status()
    return {"room": room, "reads": reads, "peak_mb": memory.peak / 2**20, "uss": uss,
            "status": status, "seconds": time.monotonic() - t0}


async def arrive_paths(base: str, paths: list[str], arrival: float, room: Room) -> None:
    AsyncHTTPClient.configure(None, max_clients=max(len(paths), 10))
    offsets = sorted(random.uniform(0, arrival) for _ in paths)
    start = time.monotonic()

    async def one(i: int) -> None:
        await asyncio.sleep(max(0.0, start + offsets[i] - time.monotonic()))
        await learner(base, paths[i], i, room)

    await asyncio.gather(*(one(i) for i in range(len(paths))))


def run_plain_voila(args) -> dict:
    """Plain Voila, preheated, refills held back, one button: time to interactive only."""
    folder = Path(tempfile.mkdtemp(prefix="casebook-bench-"))
    (folder / "minimal.ipynb").write_text(json.dumps(MINIMAL))
    port, = free_ports(1)
    log = (folder / "voila.log").open("wb")
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "voila"), "--no-browser", f"--port={port}",
         "--Voila.ip=127.0.0.1", "--Voila.port_retries=0", "--preheat_kernel=True",
         f"--pool_size={args.learners}", "--VoilaKernelManager.fill_delay=3600",
         "--KernelManager.transport=ipc", str(folder)],
        cwd=folder, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 900
        filled = f"filled with {args.learners} kernel"
        while filled not in (folder / "voila.log").read_text(errors="replace"):
            if time.monotonic() > deadline or proc.poll() is not None:
                raise RuntimeError("plain Voila's pool did not fill")
            time.sleep(1)
        time.sleep(args.settle)
        wait_quiet(proc.pid)
        assert get(f"http://127.0.0.1:{port}/")[0] in (200, 302, 404)
        memory = Memory(proc.pid)
        room = Room("")
        paths = ["voila/render/minimal.ipynb"] * args.learners

        async def tti_only():
            AsyncHTTPClient.configure(None, max_clients=max(args.learners, 10))
            offsets = sorted(random.uniform(0, args.arrival) for _ in paths)
            start = time.monotonic()

            async def one(i):
                await asyncio.sleep(max(0.0, start + offsets[i] - time.monotonic()))
                page = Page(f"http://127.0.0.1:{port}/", paths[i], cookie=f"plain{i:04d}")
                try:
                    await page.open(STEP)
                    room.times["tti"].append(page.timings["tti"])
                    room.times["http"].append(page.timings["http"])
                except Refused as err:
                    room.refused.append(err.code)
                except (TimeoutError, OSError) as err:
                    room.failed.append(f"plain {i}: {err}")
                finally:
                    await page.close()

            await asyncio.gather(*(one(i) for i in range(len(paths))))

        asyncio.run(asyncio.wait_for(tti_only(), 5 * STEP))
        uss = memory.kernel_uss()
        memory.stop()
        return {"room": room, "peak_mb": memory.peak / 2**20, "uss": uss}
    finally:
        import os
        import signal
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def figures(result: dict) -> dict:
    room = result["room"]
    out = {f"{k}_p50": pct(v, 0.5) for k, v in room.times.items()}
    out |= {f"{k}_p95": pct(v, 0.95) for k, v in room.times.items()}
    out |= {f"{k}_n": len(v) for k, v in room.times.items()}
    out |= {"refused": len(room.refused), "failed": len(room.failed),
            "failures": room.failed[:10], "peak_mb": round(result["peak_mb"]),
            "kernel_uss_median_mb": pct(result["uss"], 0.5),
            "kernel_uss_max_mb": max(result["uss"], default=None), "kernels": len(result["uss"])}
    if "reads" in result:
        out |= {"tally_p50": pct(result["reads"], 0.5), "tally_p95": pct(result["reads"], 0.95)}
    return out


def table(casebook: dict, plain: dict, args) -> str:
    def ms(v):
        return "–" if v is None else f"{v * 1000:.0f} ms"

    rows = [
        ("page request → HTML received p50 / p95",
         f"{ms(casebook['http_p50'])} / {ms(casebook['http_p95'])}",
         f"{ms(plain['http_p50'])} / {ms(plain['http_p95'])}", ""),
        ("time to interactive p50 / p95", f"{ms(casebook['tti_p50'])} / {ms(casebook['tti_p95'])}",
         f"{ms(plain['tti_p50'])} / {ms(plain['tti_p95'])}", "p95 ≤ 2 s"),
        ("join → joined p50 / p95", f"{ms(casebook['join_p50'])} / {ms(casebook['join_p95'])}",
         "–", ""),
        ("vote → acknowledged p50 / p95",
         f"{ms(casebook['vote_p50'])} / {ms(casebook['vote_p95'])}", "–", "p95 ≤ 200 ms"),
        ("reveal → feedback shown p50 / p95",
         f"{ms(casebook['reveal_p50'])} / {ms(casebook['reveal_p95'])}", "–", ""),
        ("instructor's tally read p50 / p95",
         f"{ms(casebook['tally_p50'])} / {ms(casebook['tally_p95'])}", "–", ""),
        ("refused (busy) / failed", f"{casebook['refused']} / {casebook['failed']}",
         f"{plain['refused']} / {plain['failed']}", "0 refused"),
        ("peak memory (server + kernels)", f"{casebook['peak_mb']} MB", f"{plain['peak_mb']} MB",
         ""),
        ("per-kernel USS median / max",
         f"{casebook['kernel_uss_median_mb']:.0f} / {casebook['kernel_uss_max_mb']:.0f} MB",
         f"{plain['kernel_uss_median_mb']:.0f} / {plain['kernel_uss_max_mb']:.0f} MB", "≤ 60 MB"),
    ]
    head = (f"{args.learners} learners over {args.arrival:.0f} s, case {args.case}, "
            f"{psutil.cpu_count()} cores, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
            f"load average before {args.load_before:.1f}")
    lines = [head, "", "| | casebook | plain Voila | target |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--learners", type=int, default=60)
    parser.add_argument("--arrival", type=float, default=10.0, help="seconds the room arrives over")
    parser.add_argument("--case", default="rl-trauma")
    parser.add_argument("--settle", type=float, default=5.0,
                        help="seconds after the pool has started, before waiting for it to be "
                             "quiet (its kernels have run their notebooks)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-plain", action="store_true", help="skip plain Voila")
    args = parser.parse_args(argv)
    args.load_before = psutil.getloadavg()[0]
    casebook = figures(run_casebook(args))
    plain = figures(run_plain_voila(args)) if not args.no_plain else {
        k: None for k in casebook} | {"refused": "–", "failed": "–", "peak_mb": "–",
                                     "kernel_uss_median_mb": 0, "kernel_uss_max_mb": 0}
    print(table(casebook, plain, args))
    for failure in casebook["failures"]:
        print("  ", failure)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"casebook": casebook, "plain": plain,
                                         "learners": args.learners}, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
