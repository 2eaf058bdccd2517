"""Keep one HTTP client session per process for what mlplan sends out (Slack's Web API, response URLs).

slack_sdk's clients, given no session, open a new one (and a new TCP connection) for every
call; one kept session reuses its connections. It is made on first use, in the running loop,
and closed with the runtime (`Runtime.close`) on every way out: serve, socket, worker, tick.
"""

from __future__ import annotations

import aiohttp

# Each call's bound (the Web API client's own `timeout` is not applied to a given session).
TIMEOUT = 10


class KeptSession:
    """One aiohttp client session, made when first asked for and closed once at the end."""

    def __init__(self, timeout: float = TIMEOUT):
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        """Return the kept session, making it in the running loop the first time."""
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def close(self) -> None:
        """Close the session and its connections, if one was made."""
        if self._session is not None:
            await self._session.close()
            self._session = None
