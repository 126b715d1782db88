"""bingx-closeall as an operator uses it: a real child process against the simulator."""

from __future__ import annotations

import json

from bingx_closeall_plugin.simulator import BingXSimulator, Fault

from conftest import API_KEY, API_SECRET, run_cli
from secret_scan import leaks, signatures_of

CLOSE = "trade/closeAllPositions"


def seed_account(sim):
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    sim.seed_order("BTC-USDT", side="SELL", type="TAKE_PROFIT_MARKET", quantity=0.01, stop_price=90000.0,
                   reduce_only=True)


def test_yes_closes_everything_first_and_cancels_the_stops_once_flat(sim, cli_env):
    seed_account(sim)
    sim.latency_ms = 100  # each answer takes 100 ms: a request sent after an answer shows it in the log

    done = run_cli(["--yes"], cli_env)

    assert done.returncode == 0, done.stderr
    assert sim.positions() == [] and sim.open_orders() == []
    log = [r.path.rsplit("/", 1)[-1] for r in sim.requests]
    # The close and the order read leave together (nothing before, neither waits for an answer); the
    # take-profit (reduce-only) is cancelled only after the positions read found the account flat.
    assert sorted(log[:2]) == ["closeAllPositions", "openOrders"]
    assert sim.requests[1].started < min(r.finished for r in sim.requests[:2])
    assert log[2:] == ["positions", "allOpenOrders", "allOrders"]
    assert sim.requests_to("allOpenOrders")[0].params.get("symbol") is None  # one cancel-all for the account
    assert "BTC-USDT" in done.stdout and "ETH-USDT" in done.stdout and "FLAT" in done.stdout
    assert "1 once their position was flat" in done.stdout


def test_json_is_exactly_one_document_with_string_ids(sim, cli_env):
    seed_account(sim)

    done = run_cli(["--yes", "--json"], cli_env)

    document = json.loads(done.stdout)
    assert done.returncode == 0
    assert {"success", "failed", "symbol", "remaining_positions"} <= document.keys()
    assert len(document["success"]) == 2 and all(isinstance(i, str) and i.isdigit() for i in document["success"])
    assert document["failed"] == [] and document["remaining_positions"] == [] and document["symbol"] is None


def test_keep_orders_leaves_open_orders_alone(sim, cli_env):
    seed_account(sim)

    done = run_cli(["--yes", "--keep-orders"], cli_env)

    assert done.returncode == 0
    assert sim.requests_to("allOpenOrders") == []
    assert len(sim.open_orders()) == 1


def test_dry_run_shows_positions_and_orders_and_sends_nothing_that_trades(sim, cli_env):
    seed_account(sim)

    done = run_cli(["--dry-run"], cli_env)

    assert done.returncode == 0
    assert "BTC-USDT" in done.stdout and "TAKE_PROFIT_MARKET" in done.stdout
    assert {r.method for r in sim.requests} == {"GET"}
    assert len(sim.positions()) == 2


def test_without_a_terminal_and_without_yes_it_refuses_and_sends_nothing(sim, cli_env):
    seed_account(sim)

    done = run_cli([], cli_env)

    assert done.returncode == 2 and "--yes" in done.stderr
    assert sim.requests == []


def test_symbol_closes_only_that_symbol(sim, cli_env):
    seed_account(sim)

    done = run_cli(["--yes", "--json", "--symbol", "ETH/USDT:USDT"], cli_env)

    assert done.returncode == 0
    assert json.loads(done.stdout)["symbol"] == "ETH-USDT"
    assert [p["symbol"] for p in sim.positions()] == ["BTC-USDT"]


def test_failed_positions_are_reclosed_in_bounded_rounds(sim, cli_env):
    seed_account(sim)
    sim.inject(CLOSE, Fault.failed(["ETH-USDT"]))

    done = run_cli(["--yes", "--json"], cli_env)

    document = json.loads(done.stdout)
    assert done.returncode == 0 and sim.positions() == []
    assert len(document["failed"]) == 1 and len(sim.requests_to(CLOSE)) == 2


def test_still_open_after_the_rounds_exits_1_and_says_what(sim, cli_env):
    seed_account(sim)
    sim.inject(CLOSE, Fault.failed(["ETH-USDT"]), times=10)

    done = run_cli(["--yes", "--json"], cli_env)

    document = json.loads(done.stdout)
    assert done.returncode == 1
    assert [p["symbol"] for p in document["remaining_positions"]] == ["ETH-USDT"]
    assert len(sim.requests_to(CLOSE)) == 3


def seed_protected(sim):
    """BTC and ETH, each with its reduce-only stop; beside BTC's an entry (a plain limit buy)."""
    sim.seed_position("BTC-USDT", "LONG", 0.01)
    sim.seed_position("ETH-USDT", "SHORT", 0.2)
    stops = {"BTC-USDT": sim.seed_order("BTC-USDT", side="SELL", type="STOP_MARKET", quantity=0.01, stop_price=50000.0),
             "ETH-USDT": sim.seed_order("ETH-USDT", side="BUY", type="STOP_MARKET", quantity=0.2, stop_price=5000.0)}
    entry = sim.seed_order("BTC-USDT", side="BUY", type="LIMIT", quantity=0.01, price=60000.0, reduce_only=False)
    return stops, entry


def test_a_position_left_open_keeps_its_stop_and_the_text_says_so(sim, cli_env):
    stops, _ = seed_protected(sim)
    sim.inject(CLOSE, Fault.failed(["ETH-USDT"]), times=10)

    done = run_cli(["--yes"], cli_env)

    assert done.returncode == 1
    assert [o["orderId"] for o in sim.open_orders()] == [stops["ETH-USDT"]]
    kept = done.stdout.split("KEPT", 1)[1]
    assert "ETH-USDT" in kept and str(stops["ETH-USDT"]) in kept and "STOP_MARKET" in kept
    assert "STILL OPEN" in done.stdout and "CANCELLED ON A SYMBOL" not in done.stdout


def test_a_refused_close_says_the_stops_were_kept_and_the_entries_cancelled(sim, cli_env):
    stops, entry = seed_protected(sim)
    sim.inject(CLOSE, Fault.error(80020, "risk forbidden"))

    done = run_cli(["--yes", "--json"], cli_env)

    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert sorted(o["orderId"] for o in sim.open_orders()) == sorted(stops.values())
    document = json.loads(done.stdout)
    assert sorted(int(o["orderId"]) for o in document["kept_orders"]) == sorted(stops.values())
    assert document["cancelled_openers"] == [str(entry)] and document["cancelled_protective"] == []
    assert [o["orderId"] for o in document["unprotected"]] == [str(entry)]  # cancelled, BTC still open
    assert ("BingX refused the close (RiskControlRejected: bingx 80020: risk forbidden): 2 position(s) still open; "
            "their 2 stop/take-profit order(s) were kept; 1 entry order(s) were cancelled") in document["error"]
    assert document["error"] in done.stderr

    sim.inject(CLOSE, Fault.error(80020, "risk forbidden"))
    text = run_cli(["--yes"], cli_env)  # the same refusal, in words

    assert text.returncode == 3
    assert "2 position(s) still open; their 2 stop/take-profit order(s) were kept" in text.stderr
    assert "KEPT" in text.stdout and str(stops["ETH-USDT"]) in text.stdout.split("KEPT", 1)[1]
    assert sorted(o["orderId"] for o in sim.open_orders()) == sorted(stops.values())


def test_a_short_rate_limit_is_waited_out_and_shown(sim, cli_env):
    seed_account(sim)
    sim.inject(CLOSE, Fault.error(100410, f"will be unblocked after {sim.server_time_ms() + 1500}"))

    done = run_cli(["--yes", "--json"], cli_env)

    assert done.returncode == 0, done.stderr
    assert sim.positions() == [] and [r.code for r in sim.requests_to(CLOSE)] == [100410, 0]
    assert "rate limited by BingX until" in done.stderr and "closing again in" in done.stderr
    assert json.loads(done.stdout)["close_requests"] == 2


def test_a_rate_limit_beyond_max_wait_exits_4_at_once_with_the_stops_kept(sim, cli_env):
    stops, _ = seed_protected(sim)
    sim.inject(CLOSE, Fault.error(100410, f"will be unblocked after {sim.server_time_ms() + 40_000}"))

    done = run_cli(["--yes", "--max-wait", "30"], cli_env)

    assert done.returncode == 4 and len(sim.requests_to(CLOSE)) == 1
    assert "retry after" in done.stderr and "stop/take-profit order(s) were kept" in done.stderr
    assert sorted(o["orderId"] for o in sim.open_orders()) == sorted(stops.values())


def test_max_wait_0_fails_at_once_on_any_rate_limit(sim, cli_env):
    seed_account(sim)
    sim.inject(CLOSE, Fault.error(100410, f"will be unblocked after {sim.server_time_ms() + 500}"))

    done = run_cli(["--yes", "--max-wait", "0"], cli_env)

    assert done.returncode == 4 and len(sim.requests_to(CLOSE)) == 1
    assert sim.requests_to("server/time") == []


def test_position_reappearing_during_the_close_is_closed_too(sim, cli_env):
    seed_account(sim)
    sim.inject(CLOSE, Fault.reopen("SOL-USDT", "LONG", 1))

    done = run_cli(["--yes"], cli_env)

    assert done.returncode == 0 and sim.positions() == []


def test_bad_input_exits_2_with_a_specific_message_and_sends_nothing(sim, cli_env):
    cases = [
        (["--yes", "--symbol", "btc-usdt"], "capital letters"),
        (["--yes", "--symbol", "BTC/USDT"], "spot symbol"),
        (["--yes", "--recv-window", "0"], "--recv-window"),
        (["--yes", "--recv-window", "abc"], "invalid int value"),
        (["--yes", "--base-url", "ftp://x"], "http://"),
        (["--yes", "--sandbox"], "exclude each other"),
        (["--yes", "--config", "/nonexistent.json"], "cannot read config"),
        (["--yes", "--max-wait", "-1"], "--max-wait"),
        (["--yes", "--max-wait", "nan"], "--max-wait"),
        (["--yes", "--max-wait", "601"], "--max-wait"),
    ]
    for args, message in cases:
        done = run_cli(args, cli_env)
        assert done.returncode == 2, (args, done.stderr)
        assert message in done.stderr and "Traceback" not in done.stderr, (args, done.stderr)
    assert sim.requests == []


def test_missing_credentials_exit_2(sim, cli_env):
    env = {k: v for k, v in cli_env.items() if k != "BINGX_API_SECRET"}
    done = run_cli(["--yes"], env)
    assert done.returncode == 2 and "BINGX_API_SECRET" in done.stderr
    assert sim.requests == []


def test_wrong_key_exits_3(sim, cli_env):
    done = run_cli(["--yes"], {**cli_env, "BINGX_API_KEY": "not-the-key"})
    assert done.returncode == 3 and "100413" in done.stderr


def test_wrong_secret_exits_3(sim, cli_env):
    done = run_cli(["--yes"], {**cli_env, "BINGX_API_SECRET": "not-the-secret"})
    assert done.returncode == 3 and "100001" in done.stderr


def test_connection_refused_exits_5(sim, cli_env):
    done = run_cli(["--yes"], {**cli_env, "BINGX_BASE_URL": "http://127.0.0.1:9"})
    assert done.returncode == 5 and "Traceback" not in done.stderr


def test_several_freqtrade_configs_are_flattened_each_reported(sim, cli_env, tmp_path):
    # Two accounts, two key pairs: each simulator is one account and accepts only its own key, so a key used
    # against the other account, or one config's URLs used for the other, is refused (and seen in the logs).
    second_key, second_secret = "test-key-2b8e04d9c7a1", "test-secret-95f0b3a6d2c8e4f1"
    with BingXSimulator(api_key=second_key, api_secret=second_secret) as other:
        seed_account(sim)
        other.seed_position("SOL-USDT", "LONG", 1)
        configs = []
        bots = (("bot-a", sim, API_KEY, API_SECRET), ("bot-b", other, second_key, second_secret))
        for name, account, key, secret in bots:
            urls = dict.fromkeys(("swap", "cswap", "spot", "contract"), account.base_url + "/openApi")
            path = tmp_path / f"{name}.json"
            path.write_text(json.dumps({"exchange": {"name": "bingx", "key": key, "secret": secret,
                                                     "ccxt_config": {"urls": {"api": urls}}}}))
            configs += ["--account", str(path)]
        env = {k: v for k, v in cli_env.items() if k not in ("BINGX_BASE_URL", "BINGX_API_KEY", "BINGX_API_SECRET")}

        done = run_cli(["--yes", "--json", *configs], env)

        document = json.loads(done.stdout)
        assert done.returncode == 0, done.stderr
        assert sim.positions() == [] and other.positions() == []
        assert [a["config"].rsplit("/", 1)[-1] for a in document["accounts"]] == ["bot-a.json", "bot-b.json"]
        assert [len(a["success"]) for a in document["accounts"]] == [2, 1]  # each account's own positions
        for account in (sim, other):
            assert account.requests_to(CLOSE) and all(r.api_key_ok and r.code == 0 for r in account.requests)
        assert "SOL-USDT" not in json.dumps(document["accounts"][0])
        assert "BTC-USDT" not in json.dumps(document["accounts"][1])


def test_config_with_an_empty_secret_exits_2(sim, cli_env, tmp_path):
    path = tmp_path / "bot.json"
    path.write_text(json.dumps({"exchange": {"name": "bingx", "key": API_KEY, "secret": ""}}))
    done = run_cli(["--yes", "--config", str(path)], cli_env)
    assert done.returncode == 2 and "exchange.secret" in done.stderr
    assert sim.requests == []


def test_verbose_logs_http_but_never_the_key_secret_or_signature(sim, cli_env):
    seed_account(sim)

    done = run_cli(["--yes", "-v", "--json"], cli_env)

    output = done.stdout + done.stderr
    assert done.returncode == 0
    assert "closeAllPositions" in done.stderr  # the HTTP trace is there
    assert "signature=***" in done.stderr
    assert leaks(output, signatures_of(sim.requests)) == []


def run_on_terminal(args, env, answer):
    """Run the CLI with a pseudo-terminal on stdin, answering its prompt with ``answer``."""
    import os
    import subprocess
    import sys

    primary, secondary = os.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "bingx_closeall_plugin.cli", *args], env=env, stdin=secondary,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(primary, answer.encode())
        out, err = process.communicate(timeout=60)
    finally:
        os.close(primary)
        os.close(secondary)
    return process.returncode, out, err


def test_on_a_terminal_it_shows_what_is_open_and_asks_first(sim, cli_env):
    seed_account(sim)

    code, out, err = run_on_terminal([], cli_env, "n\n")
    assert code == 1 and "declined" in err and "BTC-USDT" in err
    assert {r.method for r in sim.requests} == {"GET"} and len(sim.positions()) == 2

    code, out, err = run_on_terminal([], cli_env, "y\n")
    assert code == 0 and sim.positions() == []


def test_config_urls_point_the_cli_where_the_bot_points(sim, cli_env, tmp_path):
    seed_account(sim)
    urls = dict.fromkeys(("swap", "cswap", "spot", "contract"), sim.base_url + "/openApi")
    path = tmp_path / "bot.json"
    path.write_text(json.dumps({"exchange": {"name": "bingx", "key": API_KEY, "secret": API_SECRET,
                                             "ccxt_config": {"urls": {"api": urls}}}}))
    env = {k: v for k, v in cli_env.items() if k != "BINGX_BASE_URL"}

    done = run_cli(["--yes", "--config", str(path)], env)

    assert done.returncode == 0, done.stderr
    assert sim.positions() == []


def test_coin_m_flag_closes_coin_m_positions_only(sim, cli_env):
    sim.seed_position("BTC-USD", "SHORT", 3)
    sim.seed_position("BTC-USDT", "LONG", 0.01)

    done = run_cli(["--yes", "--coin-m", "--keep-orders"], cli_env)

    assert done.returncode == 0, done.stderr
    assert [p["symbol"] for p in sim.positions()] == ["BTC-USDT"]
    assert [r.path for r in sim.requests_to("closeAllPositions")] == ["/openApi/cswap/v1/trade/closeAllPositions"]
