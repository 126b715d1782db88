"""bingx-closeall guard against the simulator: equity rules, the direct flatten, the state file, re-arming,
failed reads, dry-run, notifications, bad configuration and masking. A real guard process each time.

The bots here are REST APIs that do not answer (a free port nobody listens on): a dead bot. The real
freqtrade bots are in test_guard_bot.py.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
from guard_process import GuardProcess, WebhookReceiver, run_guard

from bingx_closeall_plugin.simulator import Fault

from conftest import API_KEY, API_SECRET
from freqtrade_bot import free_port
from secret_scan import leaks, signatures_of

CLOSE = "trade/closeAllPositions"
BALANCE = "swap/v3/user/balance"
FAST = ["--interval", "0.2", "--http-timeout", "1", "--bot-deadline", "2"]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture
def guards(cli_env, workdir) -> Iterator:
    """``guards(args, env=None, state=None)`` starts a guard; every one is stopped at the test's end."""
    started: list[GuardProcess] = []

    def start(args: list[str], env: dict[str, str] | None = None, state: Path | None = None) -> GuardProcess:
        guard = GuardProcess([*FAST, *args], env or cli_env, workdir, state or workdir / "state.json").start()
        started.append(guard)
        return guard

    yield start
    for guard in started:
        guard.stop()


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


def trading(sim) -> list:
    """Requests that trade or cancel (anything but a read)."""
    return [r for r in sim.requests if r.method != "GET"]


def long_btc(sim, qty: float = 0.1) -> None:
    sim.seed_position("BTC-USDT", "LONG", qty, entry_price=65000.0)
    sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=qty, stop_price=50000.0, reduce_only=True)


def test_a_floor_crossed_by_a_price_move_flattens_directly_when_no_bot_answers(sim, guards, webhook, cli_env):
    long_btc(sim)
    dead_bot = f"http://127.0.0.1:{free_port()}"
    guard = guards(["--floor", "9800", "--bot", dead_bot, "--bot-user", "u", "--max-silence", "600",
                    "--webhook", webhook.url], env={**cli_env, "BINGX_GUARD_BOT_PASSWORD": "pw-1234567"})
    guard.wait_checks(2)
    assert sim.positions() and not sim.requests_to(CLOSE), "armed: equity 10000 is above the floor"

    sim.set_price("BTC-USDT", 60000.0)  # -500 USDT unrealised: equity 9500

    guard.wait_for(lambda: guard.state().get("flattened") is True, what="the trip's flatten")
    assert sim.positions() == [] and sim.open_orders() == []
    assert len(sim.requests_to(CLOSE)) == 1
    state = guard.state()
    assert state["tripped"] and state["flatten"]["via"] == "direct"
    assert "below --floor 9800.00" in state["reason"] and "equity 9500.00 USDT" in state["reason"]
    assert "no answer" in state["flatten"]["bots"][dead_bot]
    tripped = webhook.wait_event("tripped")
    assert "balance 10000.00 + unrealised -500.00" in tripped["text"]
    assert webhook.wait_event("flattened")["flat"] is True
    # Tripped it stays: it says so on every check, and a position opened since is not its business.
    guard.wait_log("STILL TRIPPED", count=2)
    sim.seed_position("ETH-USDT", "LONG", 1.0)
    guard.wait_log("STILL TRIPPED", count=4)
    assert len(sim.requests_to(CLOSE)) == 1 and len(sim.positions()) == 1


def test_drawdown_from_the_high_water_mark_trips_and_a_smaller_dip_does_not(sim, guards):
    long_btc(sim)
    guard = guards(["--max-drawdown", "3%"])
    guard.wait_checks(1)
    sim.set_price("BTC-USDT", 70000.0)  # +500: the high-water mark goes to 10500
    guard.wait_for(lambda: (guard.state().get("high_water_mark") or 0) >= 10500, what="the high-water mark at 10500")
    sim.set_price("BTC-USDT", 67000.0)  # 10200: 2.9 % under the mark, above the start value
    guard.wait_checks(3)
    assert not guard.state()["tripped"] and sim.positions()

    sim.set_price("BTC-USDT", 66800.0)  # 10180: 3.05 % under the mark, still above the start value

    guard.wait_for(lambda: guard.state().get("flattened") is True, what="the drawdown's flatten")
    assert "drawdown 320.00 from the high-water mark exceeds --max-drawdown 3%" in guard.state()["reason"]
    assert sim.positions() == []


def test_max_loss_counts_from_the_start_value_given(sim, guards):
    long_btc(sim)
    sim.set_price("BTC-USDT", 62000.0)  # -300: equity 9700
    guard = guards(["--max-loss", "200", "--start-equity", "9950"])  # the account started the day at 9950
    guard.wait_for(lambda: guard.state().get("flattened") is True, what="the loss's flatten")
    assert "loss 250.00 from the start value exceeds --max-loss 200 (floor 9750.00)" in guard.state()["reason"]


def test_a_guard_restarted_after_tripping_is_still_tripped_until_re_armed(sim, guards, workdir, cli_env):
    long_btc(sim)
    first = guards(["--floor", "9800"])
    sim.set_price("BTC-USDT", 60000.0)
    first.wait_for(lambda: first.state().get("flattened") is True, what="the trip's flatten")
    assert first.stop() == 0
    sim.set_balance("USDT", 10_000.0)  # the loss paid back in
    long_btc(sim)  # the account trades again (a bot restarted): the guard does not judge it while tripped
    sim.clear_requests()

    second = guards(["--floor", "9800"])
    log = second.wait_log("STILL TRIPPED", count=3)
    assert "below --floor 9800.00" in log and "guard --rearm --state" in log
    assert sim.requests_to(CLOSE) == [] and trading(sim) == []
    assert second.state()["tripped"]

    sim.set_price("BTC-USDT", 65000.0)  # back above the floor; the operator re-arms the running guard
    rearm = run_guard(["--rearm", "--state", str(workdir / "state.json")], cli_env, workdir)
    assert rearm.returncode == 0 and "the running guard took the re-arm request" in rearm.stderr
    second.wait_log("re-armed by the operator")
    second.wait_checks(2)
    state = second.state()
    assert not state["tripped"] and state["high_water_mark"] == pytest.approx(10000.0)
    assert sim.positions() and sim.requests_to(CLOSE) == []


def test_a_killed_guard_restarts_tripped_and_finishes_a_flatten_that_failed(sim, guards):
    long_btc(sim)
    sim.inject(CLOSE, Fault.error(100410, "rate limited"), times=20)  # every close refused for a while
    guard = guards(["--floor", "9800", "--max-wait", "0"])
    sim.set_price("BTC-USDT", 60000.0)
    guard.wait_for(lambda: guard.state().get("flattened") is False, what="a refused flatten recorded")
    guard.proc.send_signal(signal.SIGKILL)  # type: ignore[union-attr]
    guard.proc.wait(10)  # type: ignore[union-attr]
    guard.proc = None
    assert sim.positions(), "the refused close left the position"
    sim.clear_faults()

    again = guards(["--floor", "9800"])

    again.wait_for(lambda: again.state().get("flattened") is True, what="the flatten finished after the restart")
    assert sim.positions() == [] and again.state()["tripped"]


def test_equity_reads_that_fail_do_not_trip_and_alert_after_n(sim, guards, webhook):
    long_btc(sim)
    guard = guards(["--floor", "9800", "--alert-after", "3", "--unreachable-alert", "1", "--webhook", webhook.url])
    guard.wait_checks(1)
    sim.inject(BALANCE, Fault.http_error(502), times=4)
    sim.inject(BALANCE, Fault.body('{"code": 0, "msg": "", "data": [{"asset": "USDT", "balance": "oops"}]}'), times=2)
    sim.inject(BALANCE, Fault.lost_reply(executed=False), times=2)

    alert = webhook.wait_event("alert")
    guard.wait_for(lambda: "BingX answers again" in " ".join(b.get("text", "") for b in webhook.bodies),
                   what="the recovery notice")
    assert "3 equity reads in a row failed" in alert["text"]
    assert any("has not answered for" in b["text"] for b in webhook.bodies if b.get("event") == "alert")
    assert "not a drawdown" in guard.output()
    assert not guard.state()["tripped"] and sim.requests_to(CLOSE) == [] and trading(sim) == []


def test_dry_run_trips_and_reports_but_sends_nothing_that_trades(sim, guards, cli_env):
    long_btc(sim)
    dead_bot = f"http://127.0.0.1:{free_port()}"
    env = {**cli_env, "BINGX_GUARD_BOT_PASSWORD": "pw-1234567"}
    guard = guards(["--dry-run", "--floor", "9800", "--bot", dead_bot, "--bot-user", "u", "--max-silence", "1"],
                   env=env)
    guard.wait_for(lambda: guard.state().get("tripped"), what="the dry-run trip")
    guard.wait_log("STILL TRIPPED", count=2)

    state = guard.state()
    assert state["dry_run"] and state["flatten"]["via"] == "dry-run"
    assert "DRY RUN: would ask" in guard.output() and "nothing sent" in guard.output()
    assert trading(sim) == [] and len(sim.positions()) == 1 and len(sim.open_orders()) == 1
    assert {r.path.split("/openApi/")[-1] for r in sim.requests} == {BALANCE}


@pytest.mark.parametrize("args, env_change, words", [
    ([], {}, "nothing to watch"),
    (["--floor", "-5"], {}, "--floor must be above 0"),
    (["--max-drawdown", "120%"], {}, "below 100%"),
    (["--max-drawdown", "ten"], {}, "must be an amount (500) or a percentage (10%)"),
    (["--floor", "9000", "--interval", "0"], {}, "--interval must be above 0"),
    (["--bot", "http://127.0.0.1:1", "--bot-user", "u", "--max-silence", "5", "--interval", "10"],
     {"BINGX_GUARD_BOT_PASSWORD": "x"}, "--max-silence (5 s) must be longer than --interval"),
    (["--bot", "http://127.0.0.1:1"], {}, "--bot-user and BINGX_GUARD_BOT_PASSWORD"),
    (["--bot", "ftp://x", "--bot-user", "u"], {"BINGX_GUARD_BOT_PASSWORD": "x"}, "must be an http:// or https:// URL"),
    (["--floor", "9000", "--webhook", "hooks.example"], {}, "--webhook 'hooks.example' must be an http"),
    (["--floor", "9000", "--telegram-chat", "42"], {}, "Telegram needs both"),
    (["--floor", "9000", "--start-equity", "5"], {}, "give --max-loss too"),
    (["--floor", "9000", "--state", "/nonexistent-dir/state.json"], {}, "does not exist"),
    (["--floor", "9000", "--bot-config", "missing.json"], {}, "cannot read config 'missing.json'"),
    (["--floor", "9000"], {"BINGX_API_KEY": ""}, "BINGX_API_KEY and BINGX_API_SECRET go together"),
])
def test_bad_configuration_is_refused_before_watching(sim, workdir, args, env_change, words, cli_env):
    env = {**cli_env, **env_change}
    result = run_guard(["--once", *args], env, workdir)
    assert result.returncode == 2, result.stderr
    assert words in result.stderr and "Traceback" not in result.stderr
    assert sim.requests == []


def test_a_bot_config_without_the_api_server_is_refused(sim, workdir, cli_env):
    config = workdir / "bot.json"
    config.write_text(json.dumps({"exchange": {"name": "bingx", "key": API_KEY, "secret": API_SECRET},
                                  "api_server": {"enabled": False}}))
    result = run_guard(["--once", "--bot-config", str(config)], cli_env, workdir)
    assert result.returncode == 2 and "api_server is not enabled" in result.stderr


def test_a_broken_state_file_and_a_second_guard_are_refused(sim, guards, workdir, cli_env):
    broken = workdir / "broken.json"
    broken.write_text("{not json")
    result = run_guard(["--once", "--floor", "9000", "--state", str(broken)], cli_env, workdir)
    assert (result.returncode == 2 and "is not valid JSON" in result.stderr
            and "delete it to start over" in result.stderr)

    running = guards(["--floor", "9000"])
    running.wait_checks(1)
    second = run_guard(["--once", "--floor", "9000", "--state", str(workdir / "state.json")], cli_env, workdir)
    assert second.returncode == 2 and "another guard is running on" in second.stderr


def test_keys_bingx_refuses_end_the_guard_at_start_with_exit_3(sim, workdir, cli_env):
    env = {**cli_env, "BINGX_API_SECRET": "wrong-secret-0123456789"}
    result = run_guard(["--floor", "9000", "--state", str(workdir / "s.json")], env, workdir)
    assert result.returncode == 3 and "BingX refused the keys" in result.stderr
    assert "wrong-secret-0123456789" not in result.stderr


def test_once_and_status_report_armed_or_tripped(sim, workdir, cli_env):
    env, state = cli_env, str(workdir / "s.json")
    assert run_guard(["--once", "--floor", "9000", "--state", state], env, workdir).returncode == 0
    status = run_guard(["--status", "--json", "--state", state], env, workdir)
    assert status.returncode == 0 and json.loads(status.stdout)["last"]["equity"] == pytest.approx(10000.0)
    glance = run_guard(["--status", "--state", state], env, workdir)
    assert glance.returncode == 0 and glance.stdout.startswith("ARMED    the account: equity 10000.00 (read ")

    assert run_guard(["--once", "--floor", "10001", "--state", state], env, workdir).returncode == 1
    glance = run_guard(["--status", "--state", state], env, workdir)
    assert glance.returncode == 1 and glance.stdout.startswith("TRIPPED  the account: since ")
    assert "below --floor 10001.00" in glance.stdout and f"--rearm --state {state}" in glance.stdout
    rearm = run_guard(["--rearm", "--state", state], env, workdir)
    assert rearm.returncode == 0 and "re-armed" in rearm.stderr
    assert run_guard(["--status", "--state", state], env, workdir).returncode == 0


def test_telegram_gets_the_trip_and_no_secret_is_in_any_output(sim, guards, telegram_double, cli_env):
    long_btc(sim)
    env = {**cli_env, "BINGX_GUARD_TELEGRAM_TOKEN": telegram_double.token}
    guard = guards(["-v", "--floor", "9800", "--telegram-chat", str(telegram_double.chat_id),
                    "--telegram-api-url", telegram_double.url], env=env)
    sim.set_price("BTC-USDT", 60000.0)
    telegram_double.wait_for_message(lambda m: "TRIPPED" in m.text, timeout=30, what="the trip on Telegram")
    message = telegram_double.wait_for_message(lambda m: "flatten via direct" in m.text, timeout=30)
    assert message.chat_id == str(telegram_double.chat_id) and "still open" in message.text
    guard.wait_log("STILL TRIPPED")
    guard.stop()
    texts = [guard.output(), guard.state_path.read_text(), *(m.text for m in telegram_double.messages)]
    hmacs = signatures_of(sim.requests)
    for text in texts:
        assert leaks(text, hmacs, extra=[telegram_double.token]) == []
    assert "GET " in guard.output() or "openApi" in guard.output(), "-v shows the HTTP trace"


def test_the_guard_never_imports_freqtrade(workdir, cli_env):
    import subprocess
    import sys

    code = ("import sys, bingx_closeall_plugin.cli as c, bingx_closeall_plugin.guard as g; "
            "c.main(['guard', '--once', '--floor', '9000', '--state', 'x.json']); "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'freqtrade'))")
    result = subprocess.run([sys.executable, "-c", code], env=cli_env, cwd=workdir, capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.stdout.strip().splitlines()[-1] == "[]", result.stderr
