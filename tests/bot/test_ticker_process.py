"""The supervision of a server's scheduler process: started again when it ends or cannot start."""

import asyncio
import logging
import sys

from bot import ticker
from bot.ticker import ProcessTicker


async def test_a_scheduler_process_that_ends_or_cannot_start_is_tried_again(monkeypatch, caplog):
    monkeypatch.setattr(ticker, "RESTART_PAUSE", 0.05)
    caplog.set_level(logging.INFO, logger="mlplan.scheduler")
    starts = []

    def argv():
        starts.append(sys.executable)
        return ["--help"]  # prints the usage and ends at once, as a crash would

    supervised = await ProcessTicker(argv).start()
    try:
        async with asyncio.timeout(60):
            while len(starts) < 2:
                await asyncio.sleep(0.05)
            real = sys.executable
            monkeypatch.setattr(sys, "executable", "/nonexistent/python")  # replaced by a deploy
            while "cannot start the scheduler process" not in caplog.text:
                await asyncio.sleep(0.05)
            monkeypatch.setattr(sys, "executable", real)
            tried = len(starts)
            while len(starts) == tried:  # and it starts again once it can
                await asyncio.sleep(0.05)
    finally:
        await supervised.stop(timeout=10)
    assert "stopped with exit status 0; starting it again in 0.05 s" in caplog.text
    assert supervised._supervising.cancelled()
