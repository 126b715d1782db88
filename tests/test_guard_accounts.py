"""One guard over several bots, each on its own BingX account (sub-accounts with their own keys): each account
watched, tripped and flattened on its own. A real guard process; the bots are REST API doubles (their health
answers a loop that just ran; killed, the port closes), each account its own simulator. Real freqtrade bots under
one guard, 20 of them, are benchmarks/scale.py's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from guard_process import BotApiDouble, GuardProcess, run_guard

from fleet import ORDERS, POSITIONS, Fleet

BOTS = 4
DIES = 2  # the bot killed
BALANCE = "swap/v3/user/balance"


@pytest.fixture
def fleet():
    fleet = Fleet(BOTS)
    fleet.seed()
    yield fleet
    fleet.stop()


@pytest.fixture
def bots():
    doubles = [BotApiDouble().start() for _ in range(BOTS)]
    yield doubles
    for double in doubles:
        double.kill()


def test_a_killed_bot_flattens_its_own_account_and_no_other(fleet, bots, tmp_path):
    configs = fleet.configs(tmp_path, more=lambda i: bots[i].api_server())
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "FREQTRADE__"))}
    state = tmp_path / "state.json"
    guard = GuardProcess(["--interval", "0.3", "--max-silence", "2", "--http-timeout", "1", "--bot-deadline", "1",
                          *[arg for path in configs for arg in ("--bot-config", path)]], env, tmp_path, state).start()
    try:
        guard.wait_for(lambda: len([a for a in guard.state().get("accounts", {}).values() if a.get("last")]) == BOTS,
                       what="a first check of every account")
        bots[DIES].kill()

        died = configs[DIES]
        guard.wait_for(lambda: guard.state()["accounts"][died].get("flattened") is True, what="its account flat")
        guard.wait_checks(BOTS * 2)  # the others keep being checked after the trip
    finally:
        guard.stop()
    accounts = guard.state()["accounts"]
    assert fleet.flat(DIES) and accounts[died]["flatten"]["via"] == "direct"
    assert f"bot {died} silent for" in accounts[died]["reason"]
    for index, sim in enumerate(fleet.sims):
        if index == DIES:
            continue
        assert len(sim.positions()) == POSITIONS and len(sim.open_orders()) == ORDERS, index
        assert {r.path.rsplit("/openApi/", 1)[-1] for r in sim.requests} == {BALANCE}, index  # reads, nothing else
        assert not accounts[configs[index]]["tripped"]
    assert f"[{died}] TRIPPED: bot {died} silent" in guard.output()

    status = run_guard(["--status", "--state", str(state)], env, tmp_path)
    lines = status.stdout.splitlines()
    assert status.returncode == 1
    assert [line.split()[0] for line in lines if not line.startswith(" ")][:BOTS] == \
        ["TRIPPED" if i == DIES else "ARMED" for i in range(BOTS)]
    assert sum(line.lstrip().startswith("bot ") and "last loop" in line for line in lines) == BOTS
    assert f"1 of {BOTS} accounts tripped" in status.stdout and "--rearm --state" in lines[-1]

    rearm = run_guard(["--rearm", "--state", str(state)], env, tmp_path)
    assert rearm.returncode == 0
    assert run_guard(["--status", "--state", str(state)], env, tmp_path).returncode == 0


def test_bot_configs_on_one_key_are_one_account_and_trip_together(fleet, bots, tmp_path):
    # Two bots on account 0 (same key), one on account 1.
    configs = fleet.configs(tmp_path, more=lambda i: bots[i].api_server())[:2]
    shared = tmp_path / "second-bot-on-account-0.json"
    shared.write_text(Path(configs[0]).read_text().replace(str(bots[0].port), str(bots[2].port)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "FREQTRADE__"))}
    result = run_guard(["--once", "--max-silence", "600", "--interval", "1", "--bot-config", configs[0],
                        "--bot-config", str(shared), "--bot-config", configs[1], "--state", str(tmp_path / "s.json")],
                       env, tmp_path)
    assert result.returncode == 0, result.stderr
    status = run_guard(["--status", "--json", "--state", str(tmp_path / "s.json")], env, tmp_path)

    accounts = json.loads(status.stdout)["accounts"]
    assert list(accounts) == [configs[0], configs[1]]
    assert sorted(accounts[configs[0]]["bots"]) == sorted([configs[0], str(shared)])
