"""Measure answers end to end: intakes answered at once, Slack events in, next question out.

It starts `intakes` intakes with `/mlplan new` (signed HTTP to a real aiohttp server on
127.0.0.1, the real database, the fake Slack Web API), then answers all of them at once: each
intake answers its open question as soon as it is asked (a value of the question's kind, read
from the question's metadata), `answers` times, and waits for the next question in its thread.
It checks that nothing was lost (every answer brought its next question within a few seconds)
or doubled (no thread got more questions than it was sent answers, once everything settled).
An event refused with a 500 (mlplan's answer when its database does not answer within its
bound) is resent as Slack resends it, with the same event id, and counted.

In the same run it measures the floor: a bare slack-bolt app that answers each message event
with one `chat.postMessage`, driven the same way. Run it from the repository root:

    python -m bench.answers [--database-url URL] [--intakes 20] [--answers 20]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from slack_sdk.signature import SignatureVerifier

from bench.ticks import reset

SECRET = "bench-signing-secret"
TOKEN = "xoxb-T1-bench-token"
CHANNEL = "C1"
ANSWER_BY_KIND = {
    "text": "A short answer for the bench",
    "number": "42",
    "money": "$120k",
    "percent": "15%",
    "date": "2030-06-01",
    "user": "<@U3>",
    "yesno": "yes",
}
RETRIES = 3  # Slack resends a failed event three times
WAIT = 10.0  # seconds an answer may take to bring its next question before it counts as lost


class Poster:
    """Sign and post Slack's requests to one server, as Slack does."""

    def __init__(self, session: aiohttp.ClientSession, url: str):
        self.session = session
        self.url = url
        self.verifier = SignatureVerifier(SECRET)
        self._n = 0

    async def post(self, body: str, content_type: str, retry: int = 0) -> int:
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": self.verifier.generate_signature(timestamp=timestamp, body=body),
        }
        if retry:
            headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
        async with self.session.post(self.url, data=body.encode(), headers=headers) as response:
            await response.read()
            return response.status

    async def command(self, text: str, response_url: str) -> int:
        body = urlencode(
            {
                "team_id": "T1",
                "channel_id": CHANNEL,
                "user_id": "U1",
                "user_name": "u1",
                "command": "/mlplan",
                "text": text,
                "api_app_id": "A1",
                "response_url": response_url,
                "trigger_id": "1.2.3",
            }
        )
        return await self.post(body, "application/x-www-form-urlencoded")

    async def say(self, text: str, thread: str) -> int:
        """Post a reply in a thread; resend it as Slack does (same event id) while it fails.

        Return how many times it was resent.
        """
        self._n += 1
        event = {
            "type": "message",
            "channel": CHANNEL,
            "user": "U2",
            "text": text,
            "ts": f"{1800000000 + self._n}.000100",
            "thread_ts": thread,
            "channel_type": "channel",
        }
        body = json.dumps(
            {
                "team_id": "T1",
                "api_app_id": "A1",
                "type": "event_callback",
                "event_id": f"EvBench{self._n:08d}",
                "event_time": int(time.time()),
                "event": event,
                "authorizations": [{"team_id": "T1", "user_id": "UBOT", "is_bot": True}],
            }
        )
        for retry in range(RETRIES + 1):
            if await self.post(body, "application/json", retry) == 200:
                return retry
        raise AssertionError(f"an event was refused {RETRIES + 1} times")


class Threads:
    """Route each message the fake Slack receives to a queue of its thread, as it arrives."""

    def __init__(self, fake):
        self.queues: dict[str | None, asyncio.Queue] = defaultdict(asyncio.Queue)
        original = fake._chat_postMessage

        def posted(args, token):
            answer = original(args, token)
            self.queues[args.get("thread_ts")].put_nowait(answer)
            return answer

        fake._chat_postMessage = posted


def answer_for(message: dict) -> str | None:
    """Choose an answer the question accepts, from its metadata; None when it is no question."""
    metadata = message.get("metadata") or {}
    if metadata.get("event_type") != "mlplan_question":
        return None
    payload = metadata["event_payload"]
    if payload["kind"] == "choice":
        return payload["choices"][0]
    return ANSWER_BY_KIND[payload["kind"]]


async def _next_question(queue: asyncio.Queue) -> dict | None:
    """Wait for the thread's next question (summary cards between are skipped); None at the end."""
    while True:
        answer = await asyncio.wait_for(queue.get(), WAIT)
        message = answer["message"]
        event = (message.get("metadata") or {}).get("event_type")
        if event == "mlplan_question":
            return message
        if event == "mlplan_intake_complete":
            return None


async def _drive(poster: Poster, threads: Threads, thread: str, first: dict, answers: int):
    """Answer one intake's questions one after the other; return answers, questions, resends."""
    message, sent, seen, resent = first, 0, 0, 0
    while message is not None and sent < answers:
        resent += await poster.say(answer_for(message), thread)
        sent += 1
        message = await _next_question(threads.queues[thread])
        seen += 1
    return sent, seen, resent


async def run_mlplan(database_url: str, intakes: int, answers: int) -> dict:
    """Time `intakes` intakes answered at once through mlplan; check nothing lost or doubled."""
    from bot.app import build_runtime, build_web_app, settle_memory
    from bot.settings import load_settings
    from bot.slack.app import SLACK
    from tests.fakes.slack_api import fake_slack

    async with fake_slack() as fake:
        threads = Threads(fake)
        settings = load_settings(
            database_url=database_url,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
        )
        runtime = await build_runtime(settings, migrate=False, clock=lambda: datetime.now(UTC))
        await reset(runtime.engine)
        app = build_web_app(runtime, flush_every=0)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        settle_memory()  # as `mlplan serve` does once it has started
        try:
            async with aiohttp.ClientSession() as session:
                poster = Poster(session, f"http://{host}:{port}/slack/events")
                started: list[tuple[str, dict]] = []
                for i in range(intakes):
                    assert await poster.command(f"new Bench intake {i}", fake.response_url()) == 200
                    parent = await asyncio.wait_for(threads.queues[None].get(), WAIT)
                    thread = parent["ts"]
                    started.append((thread, await _next_question(threads.queues[thread])))
                begun = time.perf_counter()
                results = await asyncio.gather(
                    *(_drive(poster, threads, t, first, answers) for t, first in started)
                )
                seconds = time.perf_counter() - begun
            await app[SLACK].delivery.drain()
            await asyncio.sleep(0.2)
            # Questions no answer asked for (what follows the intake's end is no question).
            extra = sum(
                answer_for(q.get_nowait()["message"]) is not None
                for t, q in threads.queues.items()
                if t is not None
                for _ in range(q.qsize())
            )
        finally:
            await runner.cleanup()
            await runtime.close()
    sent = sum(r[0] for r in results)
    seen = sum(r[1] for r in results)
    return {
        "answers": sent,
        "seconds": round(seconds, 3),
        "per_second": round(sent / seconds, 1),
        "lost": sent - seen,
        "doubled": extra,
        "resent": sum(r[2] for r in results),
    }


async def run_floor(intakes: int, answers: int) -> dict:
    """Time the same load against a bare slack-bolt app: one chat.postMessage per message event."""
    from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    from tests.fakes.slack_api import fake_slack

    async with fake_slack() as fake:
        threads = Threads(fake)
        bolt = AsyncApp(
            client=AsyncWebClient(token=TOKEN, base_url=fake.api_url),
            signing_secret=SECRET,
        )
        asked = {"event_type": "mlplan_question", "event_payload": {"kind": "text"}}

        @bolt.event("message")
        async def reply(event, client):
            await client.chat_postMessage(
                channel=event["channel"],
                thread_ts=event["thread_ts"],
                text="next question",
                metadata=asked,
            )

        async def events(request: web.Request) -> web.Response:
            response = await bolt.async_dispatch(await to_bolt_request(request))
            return await to_aiohttp_response(response)

        app = web.Application()
        app.router.add_post("/slack/events", events)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        host, port = runner.addresses[0][:2]
        try:
            async with aiohttp.ClientSession() as session:
                poster = Poster(session, f"http://{host}:{port}/slack/events")
                first = {"metadata": asked}
                begun = time.perf_counter()
                results = await asyncio.gather(
                    *(_drive(poster, threads, f"17.{i}", first, answers) for i in range(intakes))
                )
                seconds = time.perf_counter() - begun
        finally:
            await runner.cleanup()
    sent = sum(r[0] for r in results)
    return {"answers": sent, "seconds": round(seconds, 3), "per_second": round(sent / seconds, 1)}


async def measure(database_url: str, intakes: int = 20, answers: int = 20) -> dict:
    """Measure mlplan's answers per second and the bare-Bolt floor's, in one run."""
    floor = await run_floor(intakes, answers)
    mlplan = await run_mlplan(database_url, intakes, answers)
    return {
        "intakes": intakes,
        "mlplan": mlplan,
        "floor": floor,
        "fraction_of_floor": round(mlplan["per_second"] / floor["per_second"], 2),
    }


def table(result: dict) -> str:
    """Lay the result out as a Markdown table."""
    m, f = result["mlplan"], result["floor"]
    return "\n".join(
        [
            "| app | answers | time | answers/s | lost | doubled | resent after a 500 |",
            "|---|---|---|---|---|---|---|",
            f"| mlplan | {m['answers']} | {m['seconds']:.2f} s | {m['per_second']} | {m['lost']}"
            f" | {m['doubled']} | {m['resent']} |",
            f"| bare Bolt (floor) | {f['answers']} | {f['seconds']:.2f} s | {f['per_second']} | | | |",
            f"\nmlplan runs at {result['fraction_of_floor']:.0%} of the floor"
            f" ({result['intakes']} intakes at once).",
        ]
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--database-url", default=f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
    )
    parser.add_argument("--intakes", type=int, default=20)
    parser.add_argument("--answers", type=int, default=20)
    options = parser.parse_args()
    print(table(asyncio.run(measure(options.database_url, options.intakes, options.answers))))
