"""bingx-simulator as a rehearsal tool (issue 11 §7): a real process, seeded, then the CLI pointed at it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from conftest import run_cli


@pytest.fixture
def simulator_process() -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "bingx_closeall_plugin.simulator", "--port", "0",
         "--seed", "BTC-USDT:LONG:0.01", "--seed", "ETH-USDT:SHORT:0.2",
         "--order", "BTC-USDT:SELL:STOP_MARKET:0.01:60000", "--order", "ETH-USDT:BUY:TAKE_PROFIT_MARKET:0.2:1500",
         "--order", "SOL-USDT:BUY:LIMIT:1:50"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    ready = threading.Event()

    def read() -> None:  # the banner's five lines, read off the process without blocking the test forever
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line.rstrip("\n"))
            if line.lstrip().startswith("try:"):
                ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(30):
            pytest.fail(f"bingx-simulator did not start: {lines} {process.poll()}")
        yield process, lines
    finally:
        process.terminate()
        process.wait(10)


def test_the_simulator_prints_what_to_use_and_holds_seeded_orders(simulator_process):
    _, lines = simulator_process
    banner = {line.split(":", 1)[0].strip(): line.split(":", 1)[1].strip() for line in lines[1:3]}
    base_url = lines[0].split(" listening on ", 1)[1].split(" ", 1)[0]
    assert banner == {"key": "sim-key", "secret": "sim-secret"} and base_url.startswith("http://127.0.0.1:")
    assert "2 position(s), 3 open order(s) seeded" in lines[3]
    env = {**os.environ, "BINGX_API_KEY": "sim-key", "BINGX_API_SECRET": "sim-secret", "BINGX_BASE_URL": base_url}

    seen = json.loads(run_cli(["--dry-run", "--json"], env).stdout)
    done = run_cli(["--yes", "--json"], env)
    after = json.loads(run_cli(["--dry-run", "--json"], env).stdout)

    orders = {(o["symbol"], o["type"], o["side"]) for o in seen["open_orders"]}
    assert orders == {("BTC-USDT", "STOP_MARKET", "SELL"), ("ETH-USDT", "TAKE_PROFIT_MARKET", "BUY"),
                      ("SOL-USDT", "LIMIT", "BUY")}
    assert all(o["reduceOnly"] for o in seen["open_orders"] if o["type"] != "LIMIT")
    assert done.returncode == 0, done.stderr
    assert after["positions"] == [] and after["open_orders"] == []


def test_a_bad_order_spec_is_refused_clearly():
    done = subprocess.run([sys.executable, "-m", "bingx_closeall_plugin.simulator", "--port", "0",
                           "--order", "BTC-USDT:SELL:MARKET:0.01:60000"], check=False, capture_output=True, text=True,
                          timeout=30)

    assert done.returncode != 0 and "TYPE must be one of" in done.stderr and "Traceback" not in done.stderr
