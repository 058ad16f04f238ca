"""A Voila page as the browser's widget manager speaks to its kernel, without a browser.

`Page.open` GETs the page, reads its kernel id, opens `/api/kernels/<id>/channels` and asks
the widgets' control comm for every model's state (`request_states`, as @jupyter-widgets'
manager does on load): "interactive" is when that state has arrived. From then on every
`comm_open` and `update` the kernel sends is applied to `Page.models`, so a learner's bot can
wait for a widget by its CSS class (`_dom_classes`), set a value (`update`) and click a button
(`custom` `click`), exactly the messages ipywidgets' JavaScript sends. Loopback only.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest
from tornado.websocket import websocket_connect

KERNEL_ID = re.compile(r'"kernelId": "([0-9a-f-]{36})"')
CONTROL = "jupyter.widget.control"
PROTOCOL = "5.3"  # the messaging protocol's version
WIDGETS = {"version": "2.1.0"}  # ipywidgets 8's widget and control protocol versions
CONTROL_VERSION = {"version": "1.0.0"}


class Refused(Exception):
    """The page was not served (the busy page, an error); `code` is its HTTP status."""

    def __init__(self, code: int):
        super().__init__(f"HTTP {code}")
        self.code = code


class Page:
    """One learner's page: its kernel's widget models, kept in step with the kernel."""

    def __init__(self, base: str, path: str, cookie: str):
        assert base.startswith("http://127.0.0.1:"), base
        self.base, self.path, self.cookie = base, path, cookie
        self.session = uuid.uuid4().hex
        self.models: dict[str, dict] = {}  # model id -> state
        self.opened_after: dict[str, float] = {}  # model id -> when its comm_open came
        self.ws = None
        self.kernel_id = ""
        self.timings: dict[str, float] = {}
        self._changed = asyncio.Event()
        self._reader: asyncio.Task | None = None
        self._control = uuid.uuid4().hex

    async def open(self, timeout: float) -> None:
        """GET the page and load its widgets' state; timings["tti"] in seconds."""
        start = time.monotonic()
        request = HTTPRequest(self.base + self.path, headers={"Cookie": f"casebook_client="
                                                             f"{self.cookie}"},
                              request_timeout=timeout, follow_redirects=True)
        try:
            response = await AsyncHTTPClient().fetch(request)
        except HTTPClientError as err:
            raise Refused(err.code) from None
        self.timings["http"] = time.monotonic() - start
        found = KERNEL_ID.search(response.body.decode("utf-8", "replace"))
        if found is None:
            raise Refused(response.code)
        self.kernel_id = found.group(1)
        ws_url = (self.base.replace("http://", "ws://") +
                  f"api/kernels/{self.kernel_id}/channels?session_id={self.session}")
        self.ws = await websocket_connect(ws_url, max_message_size=64 * 1024 * 1024)
        self._reader = asyncio.ensure_future(self._read())
        self.send("comm_open", {"comm_id": self._control, "target_name": CONTROL, "data": {}},
                  CONTROL_VERSION)
        self.send("comm_msg", {"comm_id": self._control, "data": {"method": "request_states"}})
        await self.wait(lambda: bool(self.models), timeout)
        self.timings["tti"] = time.monotonic() - start

    def send(self, msg_type: str, content: dict, metadata: dict = WIDGETS) -> None:
        header = {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "bench",
                  "session": self.session, "date": datetime.now(UTC).isoformat(),
                  "version": PROTOCOL}
        self.ws.write_message(json.dumps({"header": header, "parent_header": {}, "metadata": metadata,
                                          "content": content, "channel": "shell",
                                          "buffers": []}))

    def update(self, model_id: str, **state) -> None:
        """Set widget state from the page, as a user's typing or toggling does."""
        self.models[model_id].update(state)
        self.send("comm_msg", {"comm_id": model_id,
                               "data": {"method": "update", "state": state, "buffer_paths": []}})

    def click(self, model_id: str) -> None:
        self.send("comm_msg", {"comm_id": model_id,
                               "data": {"method": "custom", "content": {"event": "click"}}})

    def with_class(self, css: str, since: float = 0.0) -> list[str]:
        """Model ids whose `_dom_classes` hold `css` (opened at or after `since`), oldest first."""
        return [m for m, state in self.models.items()
                if css in state.get("_dom_classes", ()) and self.opened_after.get(m, 0) >= since]

    async def wait(self, ok: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not ok():
            left = deadline - time.monotonic()
            if left <= 0 or self._reader is None or self._reader.done():
                raise TimeoutError("the page's widgets did not get there")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), min(left, 1.0))
            except TimeoutError:
                pass

    async def _read(self) -> None:
        while True:
            text = await self.ws.read_message()
            if text is None:
                return
            if isinstance(text, str):
                self._apply(json.loads(text))

    def _apply(self, msg: dict) -> None:
        kind, content = msg.get("msg_type") or msg["header"]["msg_type"], msg.get("content", {})
        data = content.get("data", {})
        if kind == "comm_open" and content.get("target_name") == "jupyter.widget":
            self.models[content["comm_id"]] = dict(data.get("state", {}))
            self.opened_after[content["comm_id"]] = time.monotonic()
        elif kind == "comm_msg" and data.get("method") == "update_states":
            for model_id, model in data.get("states", {}).items():
                self.models.setdefault(model_id, {}).update(model.get("state", {}))
        elif kind == "comm_msg" and data.get("method") == "update":
            self.models.setdefault(content["comm_id"], {}).update(data.get("state", {}))
        else:
            return
        self._changed.set()

    async def close(self) -> None:
        if self.ws is not None:
            self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
