"""The fault matrix's freqtrade column: a live freqtrade-bingx bot flattening through its REST API under faults.

One real bot (sqlite database, REST API) trades on this module's simulator. Each cell force-enters a long
(BTC) and a short (ETH) trade, waits for both stoplosses to rest on the exchange, injects ONE fault, presses
``/forceexit all`` (or ``/closeall``) exactly as FreqUI or freqtrade-client would, and then checks the end
state, not the exception: the positions left on the simulator, every trade in the bot's database (closed at
BingX's fill price with exit reason force_exit, or still open exactly where its position is), the REST
answer (status, failed, fallbacks), the exact number of closeAllPositions requests and of per-trade exit
orders, and that no fill ever reversed or over-closed a position. tests/test_fault_matrix.py is the same
matrix for the Python API and the CLI.

This module holds the table and the checks; tests/test_fault_matrix_bot.py and test_fault_matrix_bot_more.py
each run half of the cells on a bot of their own, so two workers share the column.

The bot's Telegram is on, pointed at a local Bot API double (tests/telegram_double.py): every cell's REST
answer and every chat message sent while it ran (entries, exits, warnings freqtrade forwards) are scanned
for the key, the secret, signature hex and the real HMAC of every request BingX received (tests/secret_scan.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import pytest
import requests

from bingx_closeall_plugin import to_native
from bingx_closeall_plugin.core.urls import api_urls
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

from conftest import telegram_config
from secret_scan import leaks, signatures_of

CLOSE = "trade/closeAllPositions"
HISTORY = "trade/allOrders"
OPEN_ORDERS = "trade/openOrders"
LOOP_FALLBACK = "Reading BingX's open orders failed"  # then each order is asked about on its own
LONG, SHORT = "BTC/USDT:USDT", "ETH/USDT:USDT"
PAIRS = [LONG, SHORT, "SOL/USDT:USDT"]
BOTH = ("BTC-USDT", "ETH-USDT")
FLAT: tuple[str, ...] = ()
CCXT_TIMEOUT_MS = 2500  # the bot's client timeout: the slow-reply cell answers after 3 s
# 2100-01-01: far beyond the 30 s a flatten waits for a rate limit, so the close is refused at once.
UNBLOCK = ("The endpoint trigger frequency limit rule is currently in the disabled period "
           "and will be unblocked after 4102444800000")


def native(pair: str) -> str:
    return to_native(pair)  # ccxt's name -> BingX's, as the bot maps it


@dataclass(frozen=True)
class Cell:
    """One fault and where a bot's flatten ends under it."""

    id: str
    arm: Callable[[BingXSimulator], None]
    closes: int  # closeAllPositions requests the simulator received
    exit_orders: int = 0  # freqtrade's own per-trade exit orders (POST trade/order)
    status: str = "done"  # the REST answer's status
    failed: int = 0  # BingX `failed` entries in the answer
    fallbacks: tuple[str, ...] = ()  # pairs exited one by one by freqtrade's own force exit
    remaining: tuple[str, ...] = FLAT  # native symbols still open when the cell ends
    endpoint: str = "/forceexit"
    error: str | None = None  # a word the answer's `error` carries
    exit_reason: str = "force_exit"  # of every trade closed
    says: str | None = None  # words the operator's chat must get during the cell
    log: str | None = None  # words the bot logged while the cell ran


def on_close(fault: Fault, times: int = 1) -> Callable[[BingXSimulator], None]:
    return lambda sim: sim.inject(CLOSE, fault, times=times)


def error(code: int, msg: str) -> Callable[[BingXSimulator], None]:
    return on_close(Fault.error(code, msg))


def rate_limited_for(seconds: float) -> Callable[[BingXSimulator], None]:
    """BingX rate-limits the close until ``seconds`` from now on its own clock."""
    def arm(sim: BingXSimulator) -> None:
        until = sim.server_time_ms() + int(seconds * 1000)
        sim.inject(CLOSE, Fault.error(100410, UNBLOCK.replace("4102444800000", str(until))))
    return arm


def on_loop_read(fault: Fault) -> Callable[[BingXSimulator], None]:
    """The fault hits the bot loop's one open-orders read (it answers every order and stop query of an iteration);
    the flatten is pressed once the loop has met it, so it is the loop's read, not the flatten's, that fails."""

    def arm(sim: BingXSimulator) -> None:
        sim.inject(OPEN_ORDERS, fault)
        deadline = time.monotonic() + 30
        while sim.pending_faults():
            if time.monotonic() > deadline:
                raise AssertionError("the bot's loop did not read the open orders within 30 s")
            time.sleep(0.05)

    return arm


def skew(sim: BingXSimulator) -> None:
    sim.clock_offset_ms += 90_000  # beyond the largest recvWindow BingX accepts (60 s)


def refused(code: int, msg: str, word: str, endpoint: str = "/forceexit") -> Cell:
    """BingX refuses the close outright: nothing was closed, so freqtrade exits both trades one by one."""
    if endpoint == "/closeall":  # the account-wide kill switch reports the refusal and leaves the account alone
        return Cell(f"{code}-{word}-closeall", error(code, msg), closes=1, status="failed", remaining=BOTH,
                    endpoint=endpoint, error=word)
    return Cell(f"{code}-{word}", error(code, msg), closes=1, exit_orders=2, status="partial",
                fallbacks=(LONG, SHORT), error=word)


CELLS = [
    # One code per error class of errors.ERROR_TABLE.
    Cell("80014-ClockSkew", error(80014, "Invalid parameters, timestamp is invalid"), closes=2),
    refused(100419, "IP does not match IP whitelist", "IP"),
    refused(100413, "Incorrect apiKey", "apiKey"),
    refused(100001, "Signature verification failed", "Signature"),
    refused(80020, "risk forbidden", "risk"),
    refused(100410, UNBLOCK, "unblocked"),
    # A short rate limit is waited out (the operator is told as it runs) and the close sent again once.
    Cell("100410-waited-out", rate_limited_for(1.5), closes=2, says="BingX rate limited the close until"),
    Cell("100410-waited-out-closeall", rate_limited_for(1.5), closes=2, endpoint="/closeall",
         says="BingX rate limited the close until"),
    refused(109400, "BTC-USDT,symbol not exist, please verify it in api: /openApi/swap/v2/quote/contracts",
            "symbol"),
    refused(109400, "Invalid parameters, quantity: This field is required.", "parameters"),
    Cell("109201-AlreadySubmitted", error(109201, "The same order number is only allowed to be submitted once "
                                                  "within 1 second"), closes=2),
    refused(80018, "order is already filled, The order doesn't exist", "order"),
    # BingX says "nothing to close" while both positions are open: the bot finds them and exits one by one.
    Cell("101205-NoPositionToClose", error(101205, "No position to close"), closes=1, exit_orders=2,
         fallbacks=(LONG, SHORT)),
    Cell("109500-ServiceUnavailable", error(109500, "system busy"), closes=2),
    Cell("lost-reply-executed", on_close(Fault.lost_reply(executed=True)), closes=1),
    Cell("lost-reply-not-executed", on_close(Fault.lost_reply(executed=False)), closes=2),
    Cell("slow-reply-past-timeout", on_close(Fault.delay(3.0)), closes=1),
    Cell("html-502-executed", on_close(Fault.http_error(502, executed=True)), closes=1),
    Cell("html-503-not-executed", on_close(Fault.http_error(503, "<html>503 Service Unavailable</html>")), closes=2),
    Cell("failed-entry", on_close(Fault.failed("ETH-USDT")), closes=1, exit_orders=1, failed=1, fallbacks=(SHORT,)),
    Cell("position-reappears", on_close(Fault.reopen("BTC-USDT", "LONG", 0.001)), closes=2),
    # The account read in front of the close is refused first; it resyncs, so the close goes out once.
    Cell("clock-skew-beyond-recv-window", skew, closes=1),
    # The close executed; the order-history read that tells the trades is lost once: read again.
    Cell("history-read-fails", lambda sim: sim.inject(HISTORY, Fault.http_error(502)), closes=1),
    # The loop's one open-orders read per iteration fails, is lost, or answers past the client's timeout (held
    # under the exit lock while the flatten is pressed): that iteration asks about each stop on its own instead.
    Cell("open-orders-read-fails", on_loop_read(Fault.error(109500, "system busy")), closes=1, log=LOOP_FALLBACK),
    Cell("open-orders-read-lost", on_loop_read(Fault.lost_reply(executed=True)), closes=1, log=LOOP_FALLBACK),
    Cell("open-orders-read-late", on_loop_read(Fault.delay(3.0)), closes=1, log=LOOP_FALLBACK),
    # /closeall, the account-wide kill switch (the core's flatten: cancel beside the close, re-close rounds).
    Cell("failed-entry-closeall", on_close(Fault.failed("ETH-USDT")), closes=2, failed=1, endpoint="/closeall"),
    Cell("position-reappears-closeall", on_close(Fault.reopen("BTC-USDT", "LONG", 0.001)), closes=2,
         endpoint="/closeall"),
    refused(100413, "Incorrect apiKey", "apiKey", endpoint="/closeall"),
]


@pytest.fixture(scope="module")
def bot(simulator, telegram_double, start_bot):  # the double outlives the bot
    simulator.reset()
    urls = {"api": api_urls(simulator.base_url)}
    from conftest import API_KEY, API_SECRET

    exchange = {"name": "bingx", "key": API_KEY, "secret": API_SECRET, "pair_whitelist": PAIRS, "pair_blacklist": [],
                "ccxt_config": {"urls": urls, "timeout": CCXT_TIMEOUT_MS},
                "ccxt_async_config": {"urls": urls, "timeout": CCXT_TIMEOUT_MS}}
    bot = start_bot(simulator.base_url, name="fault-matrix-bot", exchange=exchange,
                    telegram=telegram_config(telegram_double))
    telegram_double.wait_until_polled()
    return bot


@dataclass
class Scanned:
    """What a module's secrets scan has seen: a chat message can arrive after its cell's request log is gone."""

    hmacs: set[str] = field(default_factory=set)  # every request BingX received in the module
    chat: int = 0  # chat messages up to here are scanned; a late one is scanned with the next cell


@pytest.fixture(scope="module")
def scanned() -> Scanned:
    return Scanned()


@pytest.fixture
def sim(simulator, bot):
    """The bot's simulator: flat, no fault armed, a fresh request log; made flat again after the cell."""
    assert not simulator.positions() and not bot.api("GET", "/status"), "a previous cell left something open"
    simulator.clear_requests()
    try:
        yield simulator
    finally:
        simulator.clear_faults()
        # A skewed clock stays skewed: the bot has resynchronised to it, and nothing else resyncs the bot.
        bot.make_flat(simulator)


def enter(bot, sim) -> dict[str, int]:
    """Force-enter BTC long and ETH short; wait until both are filled and both stoplosses rest on BingX."""
    return {t["pair"]: t["trade_id"] for t in bot.force_enter([(LONG, "long"), (SHORT, "short")], sim)}


def exit_orders(sim) -> list:
    """freqtrade's own per-trade exits: market orders placed (stoplosses freqtrade re-places are not exits)."""
    return [r for r in sim.requests_to("trade/order") if r.method == "POST" and r.params.get("type") == "MARKET"]


def db_trades(bot, ids) -> dict[int, dict]:
    marks = ",".join("?" * len(ids))
    return {row["id"]: row for row in bot.db(f"SELECT * FROM trades WHERE id IN ({marks})", list(ids))}


def settled(bot, sim, ids) -> bool:
    """The database says what the exchange says: an open trade exactly where its position is open."""
    trades = db_trades(bot, ids.values()).values()
    open_symbols = {native(t["pair"]) for t in trades if t["is_open"]}
    reasons_written = all(t["exit_reason"] for t in trades if not t["is_open"])
    return reasons_written and open_symbols == {p["symbol"] for p in sim.positions()}


def assert_database_matches_exchange(bot, sim, ids, exit_reason="force_exit") -> None:
    trades = db_trades(bot, ids.values())
    fills = {str(o["orderId"]): o for o in sim.orders() if o["status"] == "FILLED"}
    positions = {p["symbol"] for p in sim.positions()}
    for pair, trade_id in ids.items():
        trade = trades[trade_id]
        if native(pair) in positions:
            assert trade["is_open"] == 1, f"{pair}: the position is open, the trade must be too: {trade}"
            continue
        assert trade["is_open"] == 0 and trade["exit_reason"] == exit_reason, trade
        (exit_order,) = bot.exit_orders_in_db(trade_id)
        fill = fills[exit_order["order_id"]]
        assert trade["close_rate"] == pytest.approx(float(fill["avgPrice"])), "BingX's fill price"
        assert exit_order["filled"] == pytest.approx(abs(float(fill["executedQty"])))


def check_cell(bot, sim, cell: Cell, telegram_double, scanned: Scanned) -> None:
    """One cell: enter, arm the fault, press, and check the end state, the answer and every chat message."""
    ids = enter(bot, sim)
    log_start = len(bot.output())
    scanned.hmacs.update(signatures_of(sim.requests))
    sim.clear_requests()
    stops = {o["symbol"]: str(o["orderId"]) for o in sim.open_orders() if o["type"] == "STOP_MARKET"}
    cell.arm(sim)

    response = requests.post(f"{bot.api_url}{cell.endpoint}", json={"tradeid": "all"} if cell.endpoint == "/forceexit"
                             else {}, auth=bot.auth, timeout=60)

    assert response.status_code == 200, response.text
    answer = response.json()
    assert leaks(response.text, scanned.hmacs | signatures_of(sim.requests)) == [], response.text
    bot.wait_for(lambda: settled(bot, sim, ids), timeout=30, interval=0.2, what="the database to match the exchange")
    assert sorted(p["symbol"] for p in sim.positions()) == sorted(cell.remaining)
    assert sim.reversals() == []
    assert len(sim.requests_to(CLOSE)) == cell.closes
    assert answer.get("close_requests", 0) == cell.closes
    assert len(exit_orders(sim)) == cell.exit_orders
    assert answer["status"] == cell.status, answer
    assert len(answer.get("failed", [])) == cell.failed
    assert sorted(answer.get("fallbacks", [])) == sorted(ids[p] for p in cell.fallbacks)
    if cell.error:
        assert cell.error in answer["error"], answer
    assert_database_matches_exchange(bot, sim, ids, cell.exit_reason)
    # A position still open keeps the very stop it had (never cancelled, not even re-placed); a flat one has none.
    kept = {stops[symbol] for symbol in cell.remaining}
    bot.wait_for(lambda: {str(o["orderId"]) for o in sim.open_orders()} == kept, timeout=15, interval=0.2,
                 what=f"exactly the stops of the open positions resting: {kept}")
    assert "Traceback" not in bot.output()[log_start:]
    if cell.log:
        assert cell.log in bot.output()[log_start:]
    scanned.hmacs.update(signatures_of(sim.requests))
    chat = [m.text for m in telegram_double.messages[scanned.chat:]]
    scanned.chat += len(chat)
    assert chat, "the chat got the cell's entry and exit notifications: the scan has something to scan"
    for text in chat:
        assert leaks(text, scanned.hmacs, extra=[telegram_double.token]) == [], text
    if cell.says:
        assert any(cell.says in text for text in chat), chat
