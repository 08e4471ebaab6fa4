"""Clients of the deployed API for the cluster tests that kill parts of it mid-stream.

``login`` waits out an API replica being replaced; ``Watcher`` is a screen that resumes its
WebSocket with ``since`` after every drop, so a test can check it saw every event exactly once.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import websockets

from tests.integration.conftest import PASSWORD


async def login(client: httpx.AsyncClient, email: str, attempts: int = 60) -> str:
    """An access token, asking once a second while the API answers nothing or an error."""
    answer = "nothing"
    for _ in range(attempts):
        try:
            made = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        except httpx.HTTPError as exc:
            answer = repr(exc)
        else:
            if made.status_code == 200:
                return str(made.json()["access_token"])
            answer = f"{made.status_code} {made.text}"
        await asyncio.sleep(1)
    raise RuntimeError(f"could not log in as {email}: the API answered {answer}")


class Watcher:
    """A screen that reconnects with ``since`` whenever its socket drops or a handshake fails
    (a proxy or gateway replica being replaced answers nothing); it keeps every seq and counts
    its reconnections."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.seqs: list[int] = []
        self.reconnects = 0

    async def _session(self, until: asyncio.Event) -> None:
        async with websockets.connect(self.url, open_timeout=30) as ws:
            # A new screen has seen nothing (since 0); a returning one resumes.
            since = self.seqs[-1] if self.seqs else 0
            await ws.send(json.dumps({"type": "auth", "token": self.token, "since": since}))
            while not until.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 0.5))
                except TimeoutError:
                    continue
                if frame["type"] == "event":
                    self.seqs.append(frame["seq"])

    async def run(self, until: asyncio.Event) -> None:
        while not until.is_set():
            try:
                await self._session(until)
            except (websockets.WebSocketException, OSError, TimeoutError):
                self.reconnects += 1
                await asyncio.sleep(0.3)
