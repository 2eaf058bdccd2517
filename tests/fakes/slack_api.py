"""A fake Slack Web API: a real HTTP server on 127.0.0.1 that slack_sdk talks to over a socket.

Point a client at it with ``AsyncWebClient(token="xoxb-T1-...", base_url=fake.api_url)`` and put
``fake.response_url("cmd")`` into slash-command and action payloads, so that ``respond()`` lands
here too. Every request is recorded in ``fake.calls``; ``fake.fail(method, Failure(...))`` scripts
the answers to the next calls of one method (rate limits, server errors, Slack errors, delays).

Usage in a test module::

    @pytest.fixture
    async def slack():
        async with fake_slack() as fake:
            yield fake
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
from collections import defaultdict, deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
DEFAULT_TEAM_ID = "T1"
VIEW_ID = "V1"
FIRST_TS_MICROS = 1_700_000_000_000_000
TS_STEP_MICROS = 100

# Arguments that a form-encoded post carries as JSON strings.
JSON_ARGS = ("blocks", "metadata", "attachments", "view")
# Methods that post a message and so need a channel and some content.
MESSAGE_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update")

PERMALINK_HOST = "fake-team.slack.com"
_TEAM_IN_TOKEN = re.compile(r"^xox[a-z]-([TE][A-Z0-9]+)-")


@dataclass
class Call:
    """One request to the Web API, as the fake saw and answered it."""

    method: str
    args: dict[str, Any]
    token: str | None
    status: int
    ok: bool
    retry_attempt: int
    response: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Failure:
    """A scripted answer for one call: an HTTP status, a Slack error, a Retry-After, a delay."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    delay: float = 0.0

    @property
    def succeeds(self) -> bool:
        """A plain 200 with no error: a slow success (only `delay` is scripted)."""
        return self.status == 200 and self.error is None and self.retry_after is None

    def body(self) -> dict[str, Any]:
        """Return the JSON body Slack would send with this failure."""
        if self.error is not None:
            return {"ok": False, "error": self.error}
        if self.status >= 500:
            return {"ok": False, "error": "internal_error"}
        return {"ok": False, "error": "fatal_error"}

    def headers(self) -> dict[str, str]:
        """Return the extra response headers of this failure."""
        if self.retry_after is None:
            return {}
        return {"Retry-After": str(self.retry_after)}


def default_user(uid: str) -> dict[str, Any]:
    """Return the users.info record the fake invents for a user id nobody set up."""
    return {
        "id": uid,
        "team_id": DEFAULT_TEAM_ID,
        "name": uid.lower(),
        "real_name": f"User {uid}",
        "tz": "UTC",
        "tz_label": "Coordinated Universal Time",
        "tz_offset": 0,
        "is_bot": False,
        "deleted": False,
        "profile": {"real_name": f"User {uid}", "display_name": uid.lower()},
    }


class Users(dict[str, dict]):
    """users.info data by user id.

    Reading an unknown id creates its default entry (so ``fake.users["U1"]["tz"] = ...`` works
    before any call). ``del fake.users[uid]`` (or ``pop``) makes users.info answer
    ``user_not_found`` for that id until it is assigned again.
    """

    def __init__(self) -> None:
        super().__init__()
        self.removed: set[str] = set()

    def __missing__(self, uid: str) -> dict[str, Any]:
        if uid in self.removed:
            raise KeyError(uid)
        user = default_user(uid)
        super().__setitem__(uid, user)
        return user

    def __setitem__(self, uid: str, user: dict[str, Any]) -> None:
        self.removed.discard(uid)
        super().__setitem__(uid, user)

    def __delitem__(self, uid: str) -> None:
        self.removed.add(uid)
        super().pop(uid, None)

    def pop(self, uid: str, default: Any = None) -> Any:  # type: ignore[override]
        self.removed.add(uid)
        return super().pop(uid, default)

    def lookup(self, uid: str) -> dict[str, Any] | None:
        """Return the record of a user, or None if the test removed it."""
        if uid in self.removed:
            return None
        return self[uid]


def team_of(token: str | None) -> str:
    """Return the team id a token names ("xoxb-T42-..." is T42), else the default team."""
    match = _TEAM_IN_TOKEN.match(token or "")
    return match.group(1) if match else DEFAULT_TEAM_ID


def _decode_json_args(args: dict[str, Any]) -> dict[str, Any]:
    for name in JSON_ARGS:
        value = args.get(name)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                args[name] = json.loads(value)
    return args


def _args_key(method: str, args: dict[str, Any]) -> tuple[str, str]:
    return method, json.dumps(args, sort_keys=True, default=repr)


def _describe(call: Call) -> str:
    args = json.dumps(call.args, sort_keys=True, default=repr)
    if len(args) > 200:
        args = args[:197] + "..."
    error = "" if call.ok else f" error={call.response.get('error')!r}"
    return f"{call.method} status={call.status} ok={call.ok}{error} args={args}"


class FakeSlack:
    """The fake Web API server and what it recorded. Build it with ``fake_slack()``."""

    def __init__(self) -> None:
        self.api_url = ""
        self.base_url = ""
        self.calls: list[Call] = []
        self.responses: list[dict[str, Any]] = []
        self.users = Users()
        self._failures: dict[str, deque[Failure]] = defaultdict(deque)
        self._seen: dict[tuple[str, str], int] = defaultdict(int)
        self._ts_count = 0
        self._changed = asyncio.Condition()
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None
        # Socket Mode: the open WebSocket, and the acks the app sent back by envelope id.
        self._socket: web.WebSocketResponse | None = None
        self._socket_ready = asyncio.Event()
        self.socket_acks: dict[str, dict[str, Any]] = {}

    # --- server life -------------------------------------------------------------------------

    async def start(self) -> FakeSlack:
        """Listen on a free port of 127.0.0.1."""
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._api)
        app.router.add_post("/respond/{name}", self._respond)
        app.router.add_get("/socket", self._socket_link)
        app.router.add_route("*", "/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        self.api_url = f"{self.base_url}/api/"
        return self

    async def stop(self) -> None:
        """Release delayed answers and close the server."""
        self._closing.set()
        if self._socket is not None:
            await self._socket.close()
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # --- what tests use ----------------------------------------------------------------------

    def response_url(self, name: str = "cmd") -> str:
        """Return a response_url for slash-command and action payloads; posts land in responses."""
        return f"{self.base_url}/respond/{name}"

    def sent(self, method: str) -> list[Call]:
        """Return the successful calls of one method, in arrival order."""
        return [call for call in self.calls if call.method == method and call.ok]

    def fail(self, method: str, *responses: Failure) -> None:
        """Answer the next calls of ``method`` with these failures, in order, then normally."""
        self._failures[method].extend(responses)

    def pending_failures(self, method: str) -> list[Failure]:
        """Return the scripted failures of a method not consumed yet."""
        return list(self._failures.get(method, ()))

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until at least ``count`` successful calls of ``method`` were recorded."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(self.sent(method)) >= count)
        except TimeoutError:
            seen = "\n".join(f"  #{i} {_describe(c)}" for i, c in enumerate(self.calls, 1))
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} successful {method} call(s); "
                f"got {len(self.sent(method))}. Calls seen ({len(self.calls)}):\n"
                + (seen or "  (none)")
            ) from None
        return self.sent(method)

    async def wait_for_response(self, count: int = 1, timeout: float = 5.0) -> list[dict]:
        """Wait until at least ``count`` bodies were posted to response URLs."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(self.responses) >= count)
        except TimeoutError:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {count} response_url post(s); "
                f"got {len(self.responses)}: {self.responses!r}"
            ) from None
        return list(self.responses)

    # --- request handling --------------------------------------------------------------------

    def _next_ts(self) -> str:
        self._ts_count += 1
        micros = FIRST_TS_MICROS + self._ts_count * TS_STEP_MICROS
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _read_args(self, request: web.Request) -> dict[str, Any] | None:
        args: dict[str, Any] = dict(request.query)
        if request.method != "POST" or not request.can_read_body:
            return args
        if request.content_type == "application/json":
            raw = await request.text()
            if raw.strip():
                try:
                    body = json.loads(raw)
                except ValueError:
                    return None
                if not isinstance(body, dict):
                    return None
                args.update(body)
        else:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    args[key] = {"filename": value.filename, "content": value.file.read()}
                else:
                    args[key] = value
        return args

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await self._read_args(request)
        auth = request.headers.get("Authorization", "")
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else None
        if args is None:
            args, failure, body = {}, None, {"ok": False, "error": "invalid_json"}
        else:
            _decode_json_args(args)
            arg_token = args.pop("token", None)
            token = token or arg_token
            queue = self._failures.get(method)
            failure = queue.popleft() if queue else None
            failing = failure is not None and not failure.succeeds
            body = failure.body() if failing else self._answer(method, args, token)
        status = failure.status if failure else 200
        key = _args_key(method, args)
        call = Call(
            method=method,
            args=args,
            token=token,
            status=status,
            ok=bool(body.get("ok")),
            retry_attempt=self._seen[key],
            response=body,
        )
        self._seen[key] += 1
        self.calls.append(call)
        await self._notify()
        if failure and failure.delay > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), failure.delay)
        return web.json_response(
            body, status=status, headers=failure.headers() if failure else None
        )

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if method in MESSAGE_METHODS:
            if not args.get("channel"):
                return {"ok": False, "error": "channel_not_found"}
            if not any(args.get(name) for name in ("text", "blocks", "attachments")):
                return {"ok": False, "error": "no_text"}
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        return handler(args, token) if handler else {"ok": True}

    def _oauth_v2_access(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Exchange an install code for a bot token; codes look like "T9:anything" (the team)."""
        team, _, _ = str(args.get("code", "")).partition(":")
        if not team:
            return {"ok": False, "error": "invalid_code"}
        return {
            "ok": True,
            "app_id": "A1",
            "authed_user": {"id": "UINSTALLER"},
            "scope": "commands,chat:write",
            "token_type": "bot",
            "access_token": f"xoxb-{team}-installed",
            "bot_user_id": "UBOT",
            "team": {"id": team, "name": f"Team {team}"},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    def _apps_connections_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not (token or "").startswith("xapp-"):
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": f"ws://{self.base_url.removeprefix('http://')}/socket"}

    async def _socket_link(self, request: web.Request) -> web.WebSocketResponse:
        """Serve Socket Mode as Slack does: hello, then envelopes; the app acks each by id."""
        socket = web.WebSocketResponse()
        await socket.prepare(request)
        self._socket = socket
        await socket.send_json(
            {"type": "hello", "num_connections": 1, "debug_info": {"host": "fake"}}
        )
        self._socket_ready.set()
        async for message in socket:
            if message.type == web.WSMsgType.TEXT:
                ack = json.loads(message.data)
                self.socket_acks[ack["envelope_id"]] = ack
                await self._notify()
        return socket

    async def push(
        self, kind: str, payload: dict[str, Any], *, timeout: float = 5.0
    ) -> dict[str, Any]:
        """Send one Socket Mode envelope (events_api, slash_commands, interactive); return its ack."""
        async with asyncio.timeout(timeout):
            await self._socket_ready.wait()
        envelope_id = f"env-{len(self.socket_acks) + 1}-{self._next_ts()}"
        await self._socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
            }
        )
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: envelope_id in self.socket_acks)
        return self.socket_acks[envelope_id]

    def _auth_test(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "team_id": team_of(token),
            "user": "mlplan",
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
        }

    def _chat_postMessage(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        ts = self._next_ts()
        message: dict[str, Any] = {"type": "message", "text": args.get("text", ""), "ts": ts}
        for name in ("thread_ts", "metadata", "blocks", "attachments"):
            if args.get(name) is not None:
                message[name] = args[name]
        message.update({"bot_id": BOT_ID, "user": BOT_USER_ID})
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _chat_getPermalink(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Link a message the fake posted, as Slack does: workspace, channel, ts without the dot."""
        channel, ts = args.get("channel"), args.get("message_ts")
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        posted = any(
            c.method == "chat.postMessage"
            and c.ok
            and c.response.get("ts") == ts
            and c.response.get("channel") == channel
            for c in self.calls
        )
        if not posted:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://{PERMALINK_HOST}/archives/{channel}/p{str(ts).replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _chat_update(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        if not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        return {
            "ok": True,
            "channel": args["channel"],
            "ts": args["ts"],
            "text": args.get("text", ""),
        }

    def _chat_postEphemeral(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        users = args.get("users")
        if isinstance(users, str):
            users = [u.strip() for u in users.split(",") if u.strip()]
        if users:
            return {"ok": True, "channel": {"id": "D" + users[0]}}
        if args.get("channel"):
            return {"ok": True, "channel": {"id": args["channel"]}}
        return {"ok": False, "error": "users_list_not_supplied"}

    def _users_info(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        uid = args.get("user")
        user = self.users.lookup(uid) if uid else None
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        return {"ok": True, "user": user}

    def _view(self, args: dict[str, Any], view_id: str) -> dict[str, Any]:
        view = args.get("view")
        return {"ok": True, "view": {"id": view_id, **(view if isinstance(view, dict) else {})}}

    def _views_open(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return self._view(args, VIEW_ID)

    def _views_push(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return self._view(args, VIEW_ID)

    def _views_update(self, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        return self._view(args, args.get("view_id") or VIEW_ID)

    async def _respond(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            form = await request.post()
            body = dict(form)
        self.responses.append({"name": request.match_info["name"], **_decode_json_args(body)})
        await self._notify()
        return web.json_response({"ok": True})

    async def _not_found(self, request: web.Request) -> web.Response:
        return web.json_response({"ok": False, "error": "unknown_path"}, status=404)


async def start_fake_slack() -> FakeSlack:
    """Start a fake Slack Web API; ``await fake.stop()`` when done."""
    return await FakeSlack().start()


@contextlib.asynccontextmanager
async def fake_slack() -> AsyncIterator[FakeSlack]:
    """Run a fake Slack Web API for the duration of the block."""
    fake = await start_fake_slack()
    try:
        yield fake
    finally:
        await fake.stop()
