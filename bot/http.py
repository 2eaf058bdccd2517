"""Serve mlplan's own HTTP routes: the health check."""

from __future__ import annotations

from importlib.metadata import version

from aiohttp import web

from storage.db import bounded, ping

RUNTIME = web.AppKey("runtime", object)


async def healthz(request: web.Request) -> web.Response:
    """Answer 200 while the database answers, 503 otherwise."""
    runtime = request.app[RUNTIME]
    body = {"version": version("mlplan"), "slack": runtime.settings.slack_enabled}
    try:
        await bounded(ping(runtime.engine), 2.5)
    except Exception as err:  # any failure to reach the database means "not ready"
        return web.json_response(
            {"status": "unavailable", "database": type(err).__name__, **body}, status=503
        )
    return web.json_response({"status": "ok", "database": "ok", **body})


def register(app: web.Application) -> None:
    """Add mlplan's own routes to the application."""
    app.router.add_get("/healthz", healthz)
