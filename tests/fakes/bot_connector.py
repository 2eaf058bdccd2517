"""A fake Bot Framework connector: a real HTTP server on 127.0.0.1 that botbuilder talks to.

Put ``fake.service_url`` into the activities a test posts to ``/api/messages`` as their
``serviceUrl``: botbuilder sends every reply there (through msrest and `requests`, in a thread
pool, so this must be a listening server; it runs on its own thread and event loop, because
botbuilder also makes blocking calls, such as fetching token keys). Every request is recorded in ``fake.activities``;
``fake.fail(Failure(...))`` scripts the answers to the next sends (403 when the bot was removed,
404 for a deleted conversation, 429, 500).

It also plays the Bot Framework's token service for tests with an app id: it serves an OpenID
configuration and a JSON Web Key Set (``fake.openid_url``), and ``fake.token(...)`` signs a
channel token with its key, the way the Bot Connector signs the requests it sends to a bot.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_ID = "28:mlplan-bot"
ISSUER = "https://api.botframework.test"
TENANT = "tenant-1"


@dataclass
class Sent:
    """One activity mlplan sent (or updated) through the connector."""

    method: str  # "send", "reply", "update", "create"
    conversation: str
    activity: dict[str, Any]
    id: str
    authorization: str | None
    reply_to: str | None = None
    status: int = 200

    @property
    def text(self) -> str:
        """What a person reads first: the text, or a card's summary."""
        return self.activity.get("text") or self.activity.get("summary") or ""

    @property
    def value(self) -> dict[str, Any]:
        return self.activity.get("value") or {}

    @property
    def card(self) -> dict[str, Any] | None:
        """The Adaptive Card the activity carries, if any."""
        for attachment in self.activity.get("attachments") or []:
            if attachment.get("contentType") == "application/vnd.microsoft.card.adaptive":
                return attachment["content"]
        return None


@dataclass(frozen=True)
class Failure:
    """A scripted answer for one send: an HTTP status and a Bot Framework error code."""

    status: int
    code: str = "BotNotInConversationRoster"
    retry_after: int | None = None


@dataclass
class FakeConnector:
    """The fake connector's state: what was sent, and what to answer next."""

    activities: list[Sent] = field(default_factory=list)
    failures: deque[Failure] = field(default_factory=deque)
    created: list[dict[str, Any]] = field(default_factory=list)
    service_url: str = ""
    openid_url: str = ""
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _runner: web.AppRunner | None = None
    _key: Any = None

    def fail(self, *failures: Failure) -> None:
        """Answer the next sends with these failures, in order."""
        with self._lock:
            self.failures.extend(failures)

    def sent(self, predicate: Callable[[Sent], bool] = lambda s: True) -> list[Sent]:
        """Return the activities delivered so far (failed attempts excluded) that match."""
        with self._lock:
            return [s for s in self.activities if s.status < 300 and predicate(s)]

    def questions(self) -> list[Sent]:
        """Return the question activities delivered so far."""
        return self.sent(lambda s: "mlplan_question" in s.value)

    async def wait_for(
        self, predicate: Callable[[Sent], bool] = lambda s: True, count: int = 1, timeout=5.0
    ) -> list[Sent]:
        """Wait until at least `count` delivered activities match; return them."""

        deadline = time.monotonic() + timeout
        while len(found := self.sent(predicate)) < count:
            if time.monotonic() > deadline:
                seen = "\n".join(
                    f"  {s.method} {s.conversation} [{s.status}]: {s.text!r}"
                    for s in self.activities
                )
                raise AssertionError(f"expected {count} matching activities; got:\n{seen}")
            await asyncio.sleep(0.01)
        return found

    # The server.

    def start(self) -> FakeConnector:
        """Serve on 127.0.0.1, on a port of its own, from a thread of its own."""
        self._private_key()  # made here, before two threads could race to make it
        started = threading.Event()
        self._loop = asyncio.new_event_loop()

        def run() -> None:
            asyncio.set_event_loop(self._loop)
            self._loop.run_until_complete(self._serve())
            started.set()
            self._loop.run_forever()

        self._thread = threading.Thread(target=run, name="fake-connector", daemon=True)
        self._thread.start()
        if not started.wait(10):
            raise RuntimeError("the fake connector did not start")
        return self

    def stop(self) -> None:
        if self._loop is None or self._thread is None:
            return
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_post("/v3/conversations", self._create)
        app.router.add_post("/v3/conversations/{conversation}/activities", self._send)
        app.router.add_post("/v3/conversations/{conversation}/activities/{activity}", self._send)
        app.router.add_put("/v3/conversations/{conversation}/activities/{activity}", self._update)
        app.router.add_get("/openid", self._openid)
        app.router.add_get("/keys", self._keys)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.service_url = f"http://127.0.0.1:{port}/"
        self.openid_url = f"http://127.0.0.1:{port}/openid"

    def _next_failure(self) -> Failure | None:
        with self._lock:
            return self.failures.popleft() if self.failures else None

    async def _record(self, sent: Sent) -> web.Response:
        failure = self._next_failure()
        if failure is not None:
            sent.status = failure.status
        with self._lock:
            self.activities.append(sent)
        if failure is not None:
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after else {}
            body = {"error": {"code": failure.code, "message": "scripted failure"}}
            return web.json_response(body, status=failure.status, headers=headers)
        return web.json_response({"id": sent.id})

    async def _send(self, request: web.Request) -> web.Response:
        activity = await request.json()
        reply_to = request.match_info.get("activity")
        return await self._record(
            Sent(
                method="reply" if reply_to else "send",
                conversation=request.match_info["conversation"],
                activity=activity,
                id=f"m{next(self._ids)}",
                authorization=request.headers.get("Authorization"),
                reply_to=reply_to,
            )
        )

    async def _update(self, request: web.Request) -> web.Response:
        activity = await request.json()
        return await self._record(
            Sent(
                method="update",
                conversation=request.match_info["conversation"],
                activity=activity,
                id=request.match_info["activity"],
                authorization=request.headers.get("Authorization"),
            )
        )

    async def _create(self, request: web.Request) -> web.Response:
        parameters = await request.json()
        failure = self._next_failure()
        if failure is not None:
            body = {"error": {"code": failure.code, "message": "scripted failure"}}
            return web.json_response(body, status=failure.status)
        members = parameters.get("members") or [{}]
        conversation = f"a:personal-{members[0].get('id')}"
        with self._lock:
            self.created.append(parameters)
        return web.json_response({"id": conversation, "serviceUrl": self.service_url})

    # The token service.

    def _private_key(self):
        from cryptography.hazmat.primitives.asymmetric import rsa

        if self._key is None:
            self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return self._key

    async def _openid(self, request: web.Request) -> web.Response:
        base = self.service_url.rstrip("/")
        return web.json_response(
            {
                "issuer": ISSUER,
                "jwks_uri": f"{base}/keys",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def _keys(self, request: web.Request) -> web.Response:
        numbers = self._private_key().public_key().public_numbers()
        return web.json_response(
            {
                "keys": [
                    {
                        "kty": "RSA",
                        "use": "sig",
                        "kid": "fake-key",
                        "n": _b64(numbers.n),
                        "e": _b64(numbers.e),
                        "endorsements": ["msteams"],
                    }
                ]
            }
        )

    def token(self, *, app_id: str, service_url: str | None = None, key=None, **claims) -> str:
        """Sign a channel token for `app_id`, as the Bot Connector does (another key: forged)."""
        import jwt

        now = int(time.time())
        payload = {
            "iss": ISSUER,
            "aud": app_id,
            "iat": now - 10,
            "nbf": now - 10,
            "exp": now + 3600,
            "serviceurl": service_url or self.service_url,
            **claims,
        }
        signing = key if key is not None else self._private_key()
        return jwt.encode(payload, signing, algorithm="RS256", headers={"kid": "fake-key"})


def _b64(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@contextlib.asynccontextmanager
async def fake_connector() -> AsyncIterator[FakeConnector]:
    """Run a fake connector for the duration of a block."""
    fake = await asyncio.to_thread(FakeConnector().start)
    try:
        yield fake
    finally:
        await asyncio.to_thread(fake.stop)
