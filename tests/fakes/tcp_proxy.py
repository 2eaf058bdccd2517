"""A TCP proxy for fault tests: it forwards to a real server and can cut or freeze every connection.

`freeze()` holds every byte in both directions while the connections stay open (a network
that drops packets, a server stuck in a lock); `cut()` resets them; `heal()` forwards again.
It runs on its own thread and loop, so a frozen proxy never blocks the test's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading


class TcpProxy:
    """Forward 127.0.0.1:<port> to a target host and port, with faults on demand."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._flowing: asyncio.Event | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self._server: asyncio.base_events.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> TcpProxy:
        """Listen on a free port of 127.0.0.1."""
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._listen(), self._loop).result(timeout=5)
        return self

    async def _listen(self) -> None:
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await self._flowing.wait()
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )
        for w in (writer, up_writer):
            self._writers.discard(w)
            w.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            await self._flowing.wait()  # frozen: hold the bytes, keep the connection open
            writer.write(data)
            await writer.drain()
        # One side closed: close the other, as the network would show it. (A client that waits
        # for the server to close after saying goodbye, as asyncpg does, waited here forever.)
        await self._flowing.wait()
        writer.close()

    def _call(self, function) -> None:
        self._loop.call_soon_threadsafe(function)

    def freeze(self) -> None:
        """Hold every byte from now on; new connections wait too."""
        self._call(self._flowing.clear)

    def heal(self) -> None:
        """Forward again."""
        self._call(self._flowing.set)

    def cut(self) -> None:
        """Reset every open connection (new ones are still accepted)."""

        def reset() -> None:
            for writer in list(self._writers):
                transport = writer.transport
                with contextlib.suppress(Exception):
                    transport.abort()
            self._writers.clear()

        self._call(reset)

    def close(self) -> None:
        """Stop listening and the proxy's loop."""

        async def stop() -> None:
            self._flowing.set()
            self._server.close()
            for writer in list(self._writers):
                writer.transport.abort()

        with contextlib.suppress(Exception):
            asyncio.run_coroutine_threadsafe(stop(), self._loop).result(timeout=5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
