"""One guard over several bots, each on its own BingX account (sub-accounts with their own keys): each account
watched, tripped and flattened on its own. A real guard process; the bots are REST API doubles (their health
answers a loop that just ran; killed, the port closes), each account its own simulator. Real freqtrade bots under
one guard, 20 of them, are benchmarks/scale.py's.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from guard_process import BotApiDouble, GuardProcess, run_guard

from bingx_closeall_plugin.simulator import Fault

from fleet import ORDERS, POSITIONS, Fleet

BOTS = 4
DIES = 2  # the bot killed
BALANCE = "swap/v3/user/balance"
CLOSE = "trade/closeAllPositions"
ENV = {k: v for k, v in os.environ.items() if not k.startswith(("BINGX_", "FREQTRADE__"))}


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


def first_checked(guard: GuardProcess) -> None:
    guard.wait_for(lambda: len([a for a in guard.state().get("accounts", {}).values() if a.get("last")]) == BOTS,
                   what="a first check of every account")


def watching(configs: list[str], *args: str) -> list[str]:
    return [*args, *[arg for path in configs for arg in ("--bot-config", path)]]


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
        live = run_guard(["--status", "--state", str(state)], env, tmp_path)
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

    # One line per account (named by its config, their directory said once), the trip's why and flatten under
    # its account, then the summary and how to re-arm.
    lines = status.stdout.splitlines()
    assert status.returncode == 1 and len(lines) == 1 + BOTS + 2 + 2, status.stdout
    assert lines[0] == f"Accounts by config, in {tmp_path}/:"
    accounts = [line.split()[:2] for line in lines if line.startswith(("ARMED", "TRIPPED"))]
    assert accounts == [["TRIPPED" if i == DIES else "ARMED", Path(c).name + ":"] for i, c in enumerate(configs)]
    assert all("; bot: last loop" in line for line in lines if line.startswith("ARMED"))
    at = lines.index(next(line for line in lines if line.startswith("TRIPPED")))
    assert "flattened; bot: last loop" in lines[at] and "not answering" in lines[at]
    assert lines[at + 1].startswith(f"         why: bot {Path(died).name} silent for ")
    assert lines[at + 2].startswith("         flatten: via direct at ") and "in 1 request(s)" in lines[at + 2]
    assert lines[-2].startswith(f"1 of {BOTS} accounts TRIPPED ({Path(died).name}), {BOTS - 1} armed; newest check ")
    assert lines[-2].endswith("; NO GUARD RUNNING on it") and live.stdout.splitlines()[-2].endswith(
        "; a guard is running on it")
    assert lines[-1] == f"Re-arm (every tripped account): bingx-closeall guard --rearm --state {state}"

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
    glance = run_guard(["--status", "--state", str(tmp_path / "s.json")], env, tmp_path).stdout.splitlines()
    assert glance[1].startswith("ARMED    account-000.json: equity ") and glance[1].endswith("; 2 bots")
    assert sorted(line.split(":")[0].strip() for line in glance[2:4]) == \
        sorted(["bot account-000.json", f"bot {shared.name}"])
    assert glance[4].startswith("ARMED    account-001.json: ") and "; bot: last loop" in glance[4]


def test_a_dead_bot_trips_max_silence_after_its_last_loop_not_at_the_next_interval(fleet, bots, tmp_path):
    configs = fleet.configs(tmp_path, more=lambda i: bots[i].api_server())
    interval, silence = 3.0, 4.0  # without the check brought forward, the trip waits for the check at 6 s
    began = time.time()
    guard = GuardProcess(watching(configs, "--interval", str(interval), "--max-silence", str(silence),
                                  "--http-timeout", "1", "--bot-deadline", "1"), ENV, tmp_path,
                         tmp_path / "state.json").start()
    try:
        first_checked(guard)
        bots[DIES].kill()
        died = configs[DIES]
        guard.wait_for(lambda: guard.state()["accounts"][died].get("flattened") is True, what="its account flat")
    finally:
        guard.stop()
    account = guard.state()["accounts"][died]
    silent_for = account["tripped_at"] - account["bots"][died]["alive_at"]
    assert silence < silent_for < silence + 1, account["reason"]
    assert fleet.flat(DIES)
    # A bot that loops brings no check forward: the other accounts were read at start-up (the keys tried), then
    # once per --interval, no more.
    watched_for = time.time() - began
    for index, sim in enumerate(fleet.sims):
        if index != DIES:
            assert 2 <= len(sim.requests_to(BALANCE)) <= watched_for / interval + 2, index


def test_a_flatten_hanging_at_bingx_or_rate_limited_delays_no_other_accounts_checks(fleet, bots, tmp_path):
    hung, limited = 0, 1  # account 0's close hangs at BingX; account 1's is refused: rate limited for 6 s
    hold = fleet.sims[hung].hold(CLOSE, timeout=30)
    configs = fleet.configs(tmp_path, more=lambda i: bots[i].api_server())
    guard = GuardProcess(watching(configs, "--interval", "0.3", "--max-silence", "2", "--http-timeout", "1",
                                  "--bot-deadline", "1", "--max-wait", "30"), ENV, tmp_path,
                         tmp_path / "state.json").start()
    others = [sim for index, sim in enumerate(fleet.sims) if index not in (hung, limited)]
    try:
        first_checked(guard)
        unblock = fleet.sims[limited].server_time_ms() + 6_000
        fleet.sims[limited].inject(CLOSE, Fault.error(100410, f"will be unblocked after {unblock}"))
        bots[hung].kill()
        bots[limited].kill()
        hold.wait_reached(timeout=20)
        guard.wait_for(lambda: fleet.sims[limited].requests_to(CLOSE), what="account 1's close refused")
        reads = [len(sim.requests_to(BALANCE)) for sim in others]

        # While one account's flatten hangs and another's waits out its rate limit, the rest are checked as ever.
        more = [(sim, n + 5) for sim, n in zip(others, reads, strict=True)]
        guard.wait_for(lambda: all(len(sim.requests_to(BALANCE)) >= n for sim, n in more), timeout=10,
                       what="5 more checks of every other account")
        accounts = guard.state()["accounts"]
        assert accounts[configs[hung]]["flattened"] is None and accounts[configs[limited]]["flattened"] is None
        assert len(fleet.sims[limited].requests_to(CLOSE)) == 1, "the rate limit is waited out, not hammered"

        hold.release()
        for index in (hung, limited):
            guard.wait_for(lambda i=index: guard.state()["accounts"][configs[i]].get("flattened") is True,
                           timeout=20, what=f"account {index} flat")
    finally:
        hold.release()
        guard.stop()
    assert fleet.flat(hung) and fleet.flat(limited)
    assert [r.code for r in fleet.sims[limited].requests_to(CLOSE)] == [100410, 0]
    for sim in others:
        assert len(sim.positions()) == POSITIONS and len(sim.open_orders()) == ORDERS
        assert {r.path.rsplit("/openApi/", 1)[-1] for r in sim.requests} == {BALANCE}
