"""The freqtrade walkthrough of docs/freqtrade.md, step by step as a newcomer runs it (issue 11 §6): create-userdir,
the example config merged with examples/simulator.json, a bot with no CoinGecko errors, freqtrade-client with a
rest.json like examples/rest.json, and bingx-closeall on the same two files."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("freqtrade")

import zygote
from freqtrade_bot import (
    API_PASSWORD,
    API_USER,
    LAUNCHER,
    FreqtradeBot,
    free_port,
    launcher_command,
)

pytestmark = pytest.mark.freqtrade

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture
def sim():
    """bingx-simulator's defaults (key sim-key, secret sim-secret), which examples/simulator.json carries."""
    from bingx_closeall_plugin.simulator import BingXSimulator

    simulator = BingXSimulator(api_key="sim-key", api_secret="sim-secret").start()
    try:
        yield simulator
    finally:
        simulator.stop()


def test_the_walkthrough_from_create_userdir_to_the_panic_button(sim, tmp_path):
    walkthrough(sim, tmp_path, Path(launcher_command()[0]).parent)


def walkthrough(sim: Any, tmp_path: Path, bin_dir: Path, env: dict[str, str] | None = None,
                client: Path | None = None) -> None:
    """The walkthrough with the plugin's commands of the environment in ``bin_dir`` (the suite's, or an installed
    wheel's in tests/test_wheel.py), run in ``tmp_path``; ``client``: freqtrade's freqtrade-client (default: in
    ``bin_dir``)."""
    env = dict(env or os.environ, NO_COLOR="1")
    env.pop("PYTEST_VERSION", None)
    launcher = [str(bin_dir / "freqtrade-bingx")]
    kind = zygote.Kind(("script", LAUNCHER), lambda: launcher, [], environment=lambda: env)

    made = subprocess.run(launcher + ["create-userdir", "--userdir", str(tmp_path / "user_data")],
                          check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env)
    assert made.returncode == 0, made.stdout + made.stderr
    strategies = tmp_path / "user_data" / "strategies"
    for strategy in EXAMPLES.glob("strategies/*.py"):
        shutil.copy(strategy, strategies)

    # examples/simulator.json as shipped, but for this test's simulator port (the shipped one is 8765)
    overlay = tmp_path / "simulator.json"
    overlay.write_text((EXAMPLES / "simulator.json").read_text().replace("127.0.0.1:8765", sim.base_url.split("//")[1]))
    # what only this test needs: its own REST port and database, force entries on
    local = {"api_server": {"listen_port": free_port(), "username": API_USER, "password": API_PASSWORD},
             "db_url": f"sqlite:///{tmp_path / 'trades.sqlite'}", "force_entry_enable": True,
             "internals": {"process_throttle_secs": 1}}
    args = ["trade", "--userdir", str(tmp_path / "user_data"), "-c", str(EXAMPLES / "freqtrade-config.json"),
            "-c", str(overlay), "-c", str(tmp_path / "config.json"), "--strategy", "BingxFuturesSample"]
    bot = FreqtradeBot(tmp_path, local, args=args, fork=False, kind=kind)  # the console script itself, exec'd
    try:
        bot.start()
        bot.api("POST", "/forceenter", {"pair": "BTC/USDT:USDT", "side": "long"})
        bot.wait_for(lambda: sim.positions(), what="the forced entry's position on the simulator")

        rest = json.loads((EXAMPLES / "rest.json").read_text())
        rest["api_server"].update(local["api_server"])
        (tmp_path / "rest.json").write_text(json.dumps(rest))
        client = client or bin_dir / "freqtrade-client"
        exited = subprocess.run([str(client), "--config", str(tmp_path / "rest.json"), "forceexit", "all"],
                                check=False, capture_output=True, text=True, timeout=120)
        assert exited.returncode == 0, exited.stdout + exited.stderr
        bot.wait_for(lambda: sim.positions() == [], what="the simulator flat after forceexit all")
        assert "coingecko" not in bot.output().lower()  # offline-friendly: no fiat conversion asked for
    finally:
        bot.stop()

    seen = subprocess.run([str(bin_dir / "bingx-closeall"), "--dry-run", "-c", str(EXAMPLES / "freqtrade-config.json"),
                           "-c", str(overlay)], check=False, capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={k: v for k, v in env.items() if not k.startswith(("BINGX_", "FREQTRADE__"))})
    assert seen.returncode == 0, seen.stderr
    assert f"custom endpoint {sim.base_url}" in seen.stdout and "0 open position(s)" in seen.stdout
