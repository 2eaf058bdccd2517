"""A command's peak memory is its own, however large the process that started it."""

from bench.processes import run


def test_a_command_started_by_a_large_process_reports_its_own_peak_memory(database_url):
    ballast = bytearray(300 * 2**20)
    ballast[:: 2**12] = b"\1" * (len(ballast) // 2**12)  # every page touched: resident
    seconds, peak_mb, said = run(database_url, "--help")
    assert "import" in said and seconds > 0
    assert 0 < peak_mb < 300  # the child's rusage would say 300 MB or more: this process's size
    del ballast
