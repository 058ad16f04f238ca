"""Serving: the config as Voila reads it, the private-folder check, and real servers with
small limits answering plain HTTP GETs: instructor notebooks refused on the learners' port,
a 503 "busy" page past the kernel cap, and kernels no page connected to culled.

Two servers: one with the cap and no culling of unconnected kernels (so a slow machine never
culls a kernel in the middle of the busy-page test), and one culling them after a few seconds
(so the culling tests wait seconds, not minutes)."""

from __future__ import annotations

import asyncio
import re
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
from tornado.websocket import websocket_connect
from traitlets.config.loader import PyFileConfigLoader
from voila_server import VoilaServer, case_notebooks, get, shown

from casebook.serve.servers import CONFIG_DIR, LearnerVoila, voila_argv

CAP = 3
# Seconds a kernel no page connects to lives on the culling server: longer than one cold load
# of the home page on a busy 2-core machine (~1 s idle, a few under load), for the clock of a
# kernel a GET starts runs while its notebook executes.
UNCONNECTED = 15
SMALL = {
    "CASEBOOK_CLASS_SIZE": "0",
    "CASEBOOK_CLASS_CASE": "",
    "CASEBOOK_POOL_REFILL": "",
    "CASEBOOK_CLIENT_KERNELS": "",
    "CASEBOOK_BUSY_RETRY": "",
    "CASEBOOK_MAX_KERNELS": str(CAP),
    "CASEBOOK_CULL_UNCONNECTED": "0",  # never: the capped server keeps every kernel
    "CASEBOOK_CULL_INTERVAL": "1",
    "CASEBOOK_CULL_IDLE": "600",
    "CASEBOOK_POOL_SIZE": "0",
    "CASEBOOK_POOL": f"cases/{case_notebooks()[0]}.ipynb=1",
}
CULLING = {**SMALL, "CASEBOOK_CULL_UNCONNECTED": str(UNCONNECTED)}
SETTLE = 60  # seconds: a bound on every wait for the culler


def load_config(monkeypatch, **env):
    for name in SMALL:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return PyFileConfigLoader("voila.py", path=str(CONFIG_DIR)).load_config()


def test_config_defaults_serve_loopback_offline_and_bounded(monkeypatch):
    c = load_config(monkeypatch)
    assert c.Voila.ip == "127.0.0.1" and c.Voila.port_retries == 0
    assert c.VoilaConfiguration.strip_sources is True
    assert c.VoilaConfiguration.show_tracebacks is False
    assert c.VoilaConfiguration.allow_template_override == "NO"
    assert c.KernelManager.transport == "ipc"
    assert c.LearnerVoila.home == "index.ipynb"
    assert c.LearnerVoila.private_dirs == ["instructor"]
    assert c.LearnerVoila.max_kernels == 100  # a class of 80, and room for reloads
    assert c.LearnerVoila.client_kernels == 3
    assert c.LearnerVoila.busy_retry == 15
    assert c.LearnerVoila.VoilaConfiguration.preheat_kernel is True
    assert c.VoilaKernelManager.kernel_pools_config == {"default": {"pool_size": 1}}
    assert c.VoilaKernelManager.fill_delay == 1  # no class: Voila's own refill
    assert c.VoilaKernelManager.preheat_denylist == ["instructor/"]
    assert c.CasebookKernelManager.unconnected_timeout == 60
    assert c.CasebookKernelManager.cull_idle_timeout == 3600
    assert c.CasebookKernelManager.cull_connected is True


def test_config_takes_the_session_numbers_from_the_environment(monkeypatch):
    c = load_config(monkeypatch, CASEBOOK_POOL_SIZE="0", CASEBOOK_MAX_KERNELS="12",
                    CASEBOOK_POOL="cases/a.ipynb=30, index.ipynb=2",
                    CASEBOOK_CULL_UNCONNECTED="20", CASEBOOK_CULL_IDLE="900")
    assert c.VoilaKernelManager.kernel_pools_config == {
        "default": {"pool_size": 0}, "cases/a.ipynb": {"pool_size": 30},
        "index.ipynb": {"pool_size": 2}}
    assert c.LearnerVoila.VoilaConfiguration.preheat_kernel is True  # one notebook warmed
    assert c.LearnerVoila.max_kernels == 12
    assert c.CasebookKernelManager.unconnected_timeout == 20
    assert c.CasebookKernelManager.cull_idle_timeout == 900


def test_a_class_gets_a_pool_of_its_size_refilled_only_after_the_session(monkeypatch):
    c = load_config(monkeypatch, CASEBOOK_CLASS_SIZE="90", CASEBOOK_CLASS_CASE="rl-trauma")
    assert c.VoilaKernelManager.kernel_pools_config == {
        "default": {"pool_size": 1}, "cases/rl-trauma.ipynb": {"pool_size": 90}}
    assert c.VoilaKernelManager.fill_delay == 3600
    assert c.LearnerVoila.max_kernels == 110  # the class and its slack, over the default
    c = load_config(monkeypatch, CASEBOOK_CLASS_SIZE="60", CASEBOOK_POOL_REFILL="300")
    assert c.VoilaKernelManager.kernel_pools_config["index.ipynb"] == {"pool_size": 60}
    assert c.VoilaKernelManager.fill_delay == 300
    assert c.LearnerVoila.max_kernels == 100


def test_a_class_case_that_is_no_case_id_is_refused_with_its_name(monkeypatch):
    with pytest.raises(SystemExit, match=r"'\.\./x' is not a case id"):
        load_config(monkeypatch, CASEBOOK_CLASS_SIZE="60", CASEBOOK_CLASS_CASE="../x")


def test_no_pool_at_all_turns_preheating_off(monkeypatch):
    c = load_config(monkeypatch, CASEBOOK_POOL_SIZE="0")
    assert c.LearnerVoila.VoilaConfiguration.preheat_kernel is False


@pytest.mark.parametrize("path, private", [
    ("cases/a.ipynb", False), ("index.ipynb", False), ("instructors.ipynb", False),
    ("instructor/answer-keys.ipynb", True), ("instructor", True), ("/instructor/x.png", True),
    ("cases/../instructor/answer-keys.ipynb", True), ("./instructor/a.ipynb", True),
    ("//instructor/a.ipynb", True), ("cases/peek/answer-keys.ipynb", True),  # a symlink
])
def test_private_folder_is_found_however_the_path_is_spelled(tmp_path, path, private):
    (tmp_path / "instructor").mkdir()
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "peek").symlink_to(tmp_path / "instructor")
    app = LearnerVoila(root_dir=str(tmp_path), private_dirs=["instructor"])
    assert app.is_private(path) is private


def test_each_role_serves_its_own_folder(tmp_path):
    assert voila_argv("learner", 9000, tmp_path) == ["--port=9000", str(tmp_path)]
    assert voila_argv("instructor", 9001, tmp_path) == [
        "--port=9001", str(tmp_path / "instructor")]


# --- real servers with small limits -------------------------------------------------------

def started(env: dict[str, str]):
    with VoilaServer(env=env) as s:
        s.wait_status(lambda st: st["pooled"] == 1, SETTLE, "the pool did not fill")
        yield s


@pytest.fixture(scope="module")
def server():
    """The cap, and no kernel culled: what a page took stays taken until the module ends."""
    yield from started(SMALL)


@pytest.fixture(scope="module")
def culling():
    """Kernels no page connected to culled after UNCONNECTED seconds."""
    yield from started(CULLING)


def settled(server) -> dict:
    """Wait until no kernel is held by a page (earlier tests' kernels culled)."""
    return server.wait_status(lambda st: st["in_use"] == 0, SETTLE, "kernels were not culled")


def kernel_processes(server) -> int:
    learner = psutil.Process(server.proc.pid)
    return sum("ipykernel" in " ".join(p.cmdline()) for p in learner.children())


@pytest.mark.parametrize("path", [
    "voila/render/instructor/answer-keys.ipynb",
    "voila/render/cases/../instructor/answer-keys.ipynb",
    "voila/render/%69nstructor/answer-keys.ipynb",
    "voila/render//instructor/answer-keys.ipynb",
    "voila/files/instructor/answer-keys.ipynb",
    "voila/tree/instructor", "voila/api/contents/instructor",
])
def test_learners_port_refuses_instructor_notebooks(server, path):
    code, _, body = get(server.url + path)
    assert code in (403, 404), body[:500]
    assert "Answer keys" not in body


def test_instructors_port_serves_them(server):
    code, _, body = get(server.instructor_render_url("answer-keys.ipynb"), timeout=120)
    assert code == 200
    assert "Answer keys" in body


def test_busy_page_past_the_kernel_cap(server):
    assert server.status()["in_use"] == 0, "an earlier test holds a kernel on the capped server"
    page = server.render_url(f"cases/{case_notebooks()[0]}.ipynb")
    with ThreadPoolExecutor(CAP + 2) as pool:  # a class loading at once: two past the cap
        answers = list(pool.map(lambda _: get(page), range(CAP + 2)))
    assert sorted(code for code, _, _ in answers) == [200] * CAP + [503] * 2
    answers.append(get(page))  # and one more, alone, while the cap is reached
    assert answers[-1][0] == 503
    for _, headers, body in answers:
        if "busy" in body:
            assert "The casebook is busy" in body and "Try again now" in body
            assert int(headers["Retry-After"]) == 15
            assert not re.search(r"Traceback|kernel", body, re.IGNORECASE)
            assert_retries_by_itself(body)
    assert server.status()["in_use"] == CAP


def assert_retries_by_itself(body: str) -> None:
    """The busy page counts down, visibly, and reloads; its script is inline, nothing fetched."""
    assert '<span id="cb-busy-countdown">15</span>' in body
    assert "window.location.reload()" in body and "Math.pow(2" in body  # backing off
    assert '<meta http-equiv="refresh" content="15">' in body  # and without scripts
    assert not re.search(r"<script[^>]*\bsrc=", body)
    assert 'name="viewport" content="width=device-width' in body  # a phone's width


def page_assets(html: str) -> list[str]:
    """The page's own scripts and stylesheets, and the widgets' bundles its config names."""
    linked = re.findall(r'(?:src|href)="(/voila/[^"]+)"', html)
    bundles = re.findall(r'"load": "(static/remoteEntry[^"]+)", "name": "([^"]+)"', html)
    return linked + [f"/voila/labextensions/{name}/{load}" for load, name in bundles]


def test_static_bundles_are_cached_by_the_browser(culling):
    server = culling  # the capped one is full by now
    code, _, html = get(server.url + "voila/render/index.ipynb")
    assert code == 200
    assets = page_assets(html)
    assert {"/voila/static/voila.js", "/voila/static/casebook.css"} <= set(assets)
    assert any("jupyterlab-manager" in a for a in assets)
    for asset in assets:
        code, headers, _ = get(server.url + asset.lstrip("/"))
        assert code == 200, asset
        max_age = re.fullmatch(r"public, max-age=(\d+)", headers.get("Cache-Control", ""))
        assert max_age and int(max_age.group(1)) >= 3600, (asset, headers.get("Cache-Control"))
    code, headers, _ = get(server.url + "voila/static/no-such-file.js")
    assert code in (403, 404) and "max-age" not in headers.get("Cache-Control", "")


def test_a_kernel_from_the_pool_is_culled_no_sooner_than_the_timeout_after_its_hand_over(
        culling):
    settled(culling)
    culling.wait_status(lambda st: st["pooled"] == 1, SETTLE, "the pool did not fill")
    time.sleep(UNCONNECTED + 2)  # the warm kernel waits in its pool longer than the timeout
    start = time.monotonic()
    code, _, html = get(culling.render_url(f"cases/{case_notebooks()[0]}.ipynb"))
    assert code == 200
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]{36})"', html).group(1)
    assert f"Using pre-heated kernel: {kernel_id}" in culling.log_text()
    assert culling.status()["in_use"] == 1
    settled(culling)  # no page ever connected to it: culled...
    assert time.monotonic() - start >= UNCONNECTED  # ...counting from the hand-over
    assert f"Culling kernel {kernel_id}: no page connected" in culling.log_text()


def test_kernels_whose_page_never_connected_are_culled(culling):
    settled(culling)
    before = kernel_processes(culling)
    start = time.monotonic()
    with ThreadPoolExecutor(2) as pool:  # at once: neither waits out the other's page load
        loads = list(pool.map(lambda _: get(culling.render_url("index.ipynb")), range(2)))
    assert [code for code, _, _ in loads] == [200, 200]
    if time.monotonic() - start < UNCONNECTED / 2:  # on a loaded machine a load can outlast it
        assert culling.status()["in_use"] == 2
        assert kernel_processes(culling) == before + 2
    status = settled(culling)
    assert time.monotonic() - start >= UNCONNECTED  # not before the timeout
    assert status["pooled"] == 1  # the warm pool is never culled
    deadline = time.monotonic() + SETTLE
    while kernel_processes(culling) > before and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kernel_processes(culling) == before  # the processes are gone, not just forgotten


def test_a_connected_kernel_is_kept_until_its_page_leaves(culling):
    settled(culling)
    code, _, html = get(culling.render_url("index.ipynb"))
    assert code == 200
    kernel_id = re.search(r'"kernelId": "([0-9a-f-]{36})"', html).group(1)
    channels = f"ws://127.0.0.1:{culling.port}/api/kernels/{kernel_id}/channels"

    async def connected_for(seconds: float) -> dict:
        ws = await websocket_connect(channels)
        await asyncio.sleep(seconds)
        status = culling.status()
        ws.close()
        return status

    # In a thread of its own: Playwright's sync API may hold this thread's event loop.
    with ThreadPoolExecutor(1) as pool:
        held = pool.submit(asyncio.run, asyncio.wait_for(connected_for(UNCONNECTED + 3),
                                                         SETTLE)).result()
    assert held["in_use"] == 1  # connected past the timeout: kept
    settled(culling)  # its page gone: culled


def test_home_is_at_the_root(culling):
    """On the culling server, and last: the kernel its page takes is soon culled."""
    code, _, body = get(culling.url)
    assert code == 200
    assert shown(body) == ["HomePage"]  # the home page itself, not an error screen
