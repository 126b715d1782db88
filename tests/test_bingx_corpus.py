"""BingX as it really answers: the corpus under ``tests/fixtures/bingx/`` replayed to the real ccxt client and the
package over HTTP (the simulator answers each replayed request with the recorded body, ``Fault.body``), and the
simulator's own answers compared in shape with it.

The replay goes through ccxt's real signing, URL building and JSON parsing, and the package's real parsers; only
the body of the one request under test comes from the corpus. Variants of a recorded body (``failed`` as a list,
``data`` missing, ...) are derived from it in the test, and say so.
"""

from __future__ import annotations

import copy
import json
import re

import ccxt
import pytest

import bingx_closeall_plugin.simulator as simulator_package
from bingx_closeall_plugin import BingX, close_all_positions, flatten
from bingx_closeall_plugin.cli.output import side_and_size
from bingx_closeall_plugin.core import errors
from bingx_closeall_plugin.core.closeall import open_positions
from bingx_closeall_plugin.core.flatten import _describe_orders
from bingx_closeall_plugin.core.methods import ENDPOINTS
from bingx_closeall_plugin.simulator import BingXSimulator, Fault

import bingx_corpus as corpus
from conftest import API_KEY, API_SECRET, make_client, run_cli

CLOSE = "swap/v2/trade/closeAllPositions"
BIG = 2**53


@pytest.fixture
def client(sim: BingXSimulator) -> BingX:
    exchange = make_client(BingX, sim)
    exchange.load_markets()
    return exchange


def replay(sim: BingXSimulator, suffix: str, body: object) -> None:
    sim.inject(suffix, Fault.body(body if isinstance(body, str) else json.dumps(body)))


# ---------------------------------------------------------------- the corpus itself
def test_every_entry_says_where_it_came_from() -> None:
    names = set()
    for e in corpus.entries():
        assert e.kind in corpus.KINDS, e.id
        assert e.id not in names, f"duplicate {e.id}"
        names.add(e.id)
        if "page" not in e.source:
            assert e.source["repository"] and e.source["path"], e.id
            assert re.fullmatch(r"[0-9a-f]{40}", e.source["commit"]), e.id
            assert e.source.get("entry") or e.source.get("section"), e.id
        assert e.request["method"] in ("GET", "POST", "DELETE") and e.request["path"].startswith("/openApi/"), e.id
        assert isinstance(e.response, dict) and "code" in e.response, e.id
    for stem, content in corpus.files().items():
        recorded = [e for e in corpus.entries(stem) if e.kind == "recorded"]
        assert recorded or content.get("no_recorded_answer"), f"{stem}: say why no recorded answer is there"
    readme = (corpus.CORPUS_DIR / "README.md").read_text()
    licence = (corpus.CORPUS_DIR / "LICENSE-ccxt.txt").read_text()
    assert "MIT License" in licence and "Igor Kroitor" in licence
    assert "no recorded answer" in readme.lower()


def test_every_endpoint_the_package_calls_has_a_corpus_file() -> None:
    described = " ".join(content["endpoint"] for content in corpus.files().values())
    for endpoint in ENDPOINTS:
        assert endpoint.path.split(" ", 1)[1] in described, endpoint.path


# ---------------------------------------------------------------- the close path
@pytest.mark.parametrize("entry", corpus.entries("close_all_positions"), ids=lambda e: e.name)
def test_close_all_keeps_every_recorded_id_exact(sim: BingXSimulator, client: BingX, entry: corpus.Entry) -> None:
    replay(sim, CLOSE, entry.response)
    result = close_all_positions(client)
    expected = [str(i) for i in entry.data["success"]]
    assert all(int(i) > BIG and len(i) == 19 for i in expected)
    assert result.success == expected and result.failed == [] and result.already_flat is False
    assert json.loads(json.dumps(result.to_dict()))["success"] == expected
    assert len(sim.requests_to(CLOSE)) == 1


def _recorded_close() -> dict:
    return copy.deepcopy(corpus.entry("close_all_positions", "swap-success-failed-null").response)


def _variant(**data: object) -> dict:
    body = _recorded_close()
    body["data"].update(data)
    return body


@pytest.mark.parametrize(("body", "failed"), [
    (_variant(failed=[]), []),
    (_variant(failed=[1773289330136281088]), ["1773289330136281088"]),
    (_variant(failed=[{"positionId": "1773289330136281088", "errorCode": 101205, "errorMessage": "x"}]),
     [{"positionId": "1773289330136281088", "errorCode": 101205, "errorMessage": "x"}]),
], ids=["failed-empty-list", "failed-integer-ids", "failed-objects"])
def test_close_all_failed_in_every_shape(sim: BingXSimulator, client: BingX, body: dict, failed: list) -> None:
    """Derived from the recorded answer: ``failed`` as BingX documents it (null), as a list, as objects."""
    replay(sim, CLOSE, body)
    result = close_all_positions(client)
    assert result.success == ["1735124421028573200"] and result.failed == failed


@pytest.mark.parametrize("body", [
    {"code": "0", "msg": ""},
    {"code": "0", "msg": "", "data": None},
    {"code": "0", "msg": "", "data": {"success": None, "failed": None}},
], ids=["data-missing", "data-null", "both-null"])
def test_close_all_with_no_data_is_flat(sim: BingXSimulator, client: BingX, body: dict) -> None:
    replay(sim, CLOSE, body)
    result = close_all_positions(client)
    assert result.success == [] and result.failed == [] and result.already_flat is True


def test_close_all_ids_as_strings_stay_exact(sim: BingXSimulator, client: BingX) -> None:
    replay(sim, CLOSE, _variant(success=["1735124421028573200"]))
    assert close_all_positions(client).success == ["1735124421028573200"]


def test_close_all_refuses_an_id_that_lost_its_digits(sim: BingXSimulator, client: BingX) -> None:
    """A float id (what a parser that reads numbers as doubles makes of the recorded id) is a clear error."""
    replay(sim, CLOSE, json.dumps(_recorded_close()).replace("1735124421028573200", "1.7351244210285732e+18"))
    with pytest.raises(ccxt.BadResponse, match="float"):
        close_all_positions(client)


# ---------------------------------------------------------------- positions: the flatten's verification reads
@pytest.mark.parametrize("entry", corpus.entries("positions"), ids=lambda e: e.name)
def test_positions_rows_parse(entry: corpus.Entry) -> None:
    rows = open_positions(entry.response)
    assert rows == entry.data
    for row in rows:
        assert float(row["positionAmt"]) > 0 and float(row["avgPrice"]) > 0
        assert int(row["positionId"]) > BIG and str(row["positionId"]) == row["positionId"]
        assert side_and_size(row) == f"LONG {row['positionAmt']}"


def test_positions_one_way_and_hedge_rows() -> None:
    """Derived from the recorded hedge row: the one-way (BOTH) form BingX documents, signed amount for a short."""
    hedge = corpus.entry("positions", "swap-hedge-long").response
    one_way = copy.deepcopy(hedge)
    one_way["data"][0].update(positionSide="BOTH", positionAmt="-0.1", availableAmt="-0.1")
    assert side_and_size(open_positions(hedge)[0]) == "LONG 0.1"
    assert side_and_size(open_positions(one_way)[0]) == "SHORT 0.1"
    flat = copy.deepcopy(hedge)
    flat["data"][0].update(positionAmt="0", availableAmt="0")
    assert open_positions(flat) == []
    with pytest.raises(ccxt.BadResponse):
        open_positions({"code": "0", "msg": ""})  # no data: not "flat"


def test_ccxt_reads_the_recorded_positions(sim: BingXSimulator, client: BingX) -> None:
    entry = corpus.entry("positions", "swap-hedge-long")
    replay(sim, "swap/v2/user/positions", entry.response)
    (position,) = client.fetch_positions(["LTC/USDT:USDT"])
    assert position["id"] == "1773289330136281088" and position["side"] == "long"
    assert position["contracts"] == pytest.approx(0.1) and position["entryPrice"] == pytest.approx(95.61)


def test_flatten_verifies_against_the_recorded_answers(sim: BingXSimulator, client: BingX) -> None:
    """The recorded close answer, then the recorded positions read showing a position left: the flatten closes
    once more (the simulator's own answer) and verifies flat."""
    replay(sim, CLOSE, corpus.entry("close_all_positions", "swap-success-failed-null").response)
    replay(sim, "swap/v2/user/positions", corpus.entry("positions", "swap-hedge-long").response)
    report = flatten(client)
    assert report.closes[0].success == ["1735124421028573200"]
    assert len(sim.requests_to(CLOSE)) == 2 and report.flat


@pytest.mark.parametrize("entry", corpus.entries("all_orders"), ids=lambda e: e.name)
def test_flatten_report_describes_recorded_history(entry: corpus.Entry) -> None:
    rows = entry.data["orders"]
    ids = [str(r["orderId"]) for r in rows]
    described = _describe_orders(entry.response, ids)
    assert [d["orderId"] for d in described] == ids
    for d, row in zip(described, rows, strict=True):
        assert float(d["executedQty"]) == float(row["executedQty"]) and float(d["avgPrice"]) == float(row["avgPrice"])


# ---------------------------------------------------------------- the CLI
def test_cli_table_shows_recorded_rows(sim: BingXSimulator, cli_env: dict[str, str]) -> None:
    replay(sim, "swap/v2/user/positions", corpus.entry("positions", "swap-hedge-long").response)
    replay(sim, "swap/v2/trade/openOrders", corpus.entry("open_orders", "swap-doc-two-trigger-orders").response)
    done = run_cli(["--dry-run"], cli_env)
    assert done.returncode == 0, done.stderr
    row = next(line.split() for line in done.stdout.splitlines() if line.split()[:1] == ["LTC-USDT"])
    assert row == ["LTC-USDT", "LONG", "0.1", "95.61", "0.0005"]
    triggers = [line.split() for line in done.stdout.splitlines() if line.split()[:1] == ["LINK-USDT"]]
    assert [r[2:] for r in triggers] == [["TRIGGER_MARKET", "5.0", "5.0000"], ["TRIGGER_LIMIT", "5.0", "9.5000"]]


def test_cli_json_keeps_the_recorded_id(sim: BingXSimulator, cli_env: dict[str, str]) -> None:
    replay(sim, CLOSE, corpus.entry("close_all_positions", "swap-success-failed-null").response)
    done = run_cli(["--yes", "--json", "--keep-orders"], cli_env)
    assert done.returncode == 0, done.stderr
    assert '"1735124421028573200"' in done.stdout
    assert json.loads(done.stdout)["success"] == ["1735124421028573200"]


# ---------------------------------------------------------------- order rows through ccxt
CONDITIONAL = {"STOP_MARKET", "TAKE_PROFIT_MARKET", "TRIGGER_MARKET", "TRIGGER_LIMIT", "STOP", "TAKE_PROFIT"}


def _order_replays() -> list[tuple[corpus.Entry, str, str]]:
    """(entry, path suffix, ccxt call) for every swap entry whose answer is order rows."""
    out = []
    calls = {"order": ("swap/v2/trade/order", "fetch_order"), "open_orders": ("swap/v2/trade/openOrders", "open"),
             "all_orders": ("swap/v2/trade/allOrders", "history"), "cancel_order": ("swap/v2/trade/order", "cancel"),
             "cancel_all": ("swap/v2/trade/allOpenOrders", "cancel_all"),
             "place_order": ("swap/v2/trade/order", "create")}
    for stem, (suffix, call) in calls.items():
        out += [(e, suffix, call) for e in corpus.entries(stem) if e.request["path"].startswith("/openApi/swap/")]
    return out


def _rows(entry: corpus.Entry) -> list[dict]:
    data = entry.data
    for key in ("order", "orders", "success"):
        if isinstance(data, dict) and key in data:
            value = data[key]
            return value if isinstance(value, list) else [value]
    return [data]


def _ccxt_call(client: BingX, call: str, symbol: str) -> list[dict]:
    if call == "fetch_order":
        return [client.fetch_order("1", symbol)]
    if call == "open":
        return client.fetch_open_orders(None, None, None, {"type": "swap", "subType": "linear"})
    if call == "history":
        return client.fetch_canceled_and_closed_orders(symbol)
    if call == "cancel":
        return [client.cancel_order("1", symbol)]
    if call == "cancel_all":
        return client.cancel_all_orders(symbol)
    return [client.create_order(symbol, "market", "sell", 0.1, None, {"positionSide": "BOTH"})]


@pytest.mark.parametrize(("entry", "suffix", "call"), _order_replays(), ids=lambda v: getattr(v, "id", ""))
def test_ccxt_parses_every_recorded_order_row(sim: BingXSimulator, client: BingX, entry: corpus.Entry, suffix: str,
                                              call: str) -> None:
    rows = _rows(entry)
    symbol = client.safe_symbol(rows[0]["symbol"], None, "-", "swap")
    if call == "history":  # ccxt keeps the rows of the symbol it asked for
        rows = [r for r in rows if r["symbol"] == rows[0]["symbol"]]
    replay(sim, suffix, entry.response)
    parsed = {o["id"]: o for o in _ccxt_call(client, call, symbol)}
    assert sorted(parsed) == sorted(str(r["orderId"]) for r in rows)  # exact: 19 digits, beyond 2**53
    for row in rows:
        order = parsed[str(row["orderId"])]
        assert int(order["id"]) > BIG
        if row.get("origQty") or row.get("quantity"):
            assert order["amount"] == pytest.approx(float(row.get("origQty") or row["quantity"]))
        if row["type"] in CONDITIONAL and row.get("stopPrice"):
            # the trigger price the freqtrade restart needs for a conditional order it did not place
            triggers = {order.get(k) for k in ("triggerPrice", "stopLossPrice", "takeProfitPrice", "stopPrice")}
            assert float(row["stopPrice"]) in triggers, order
        if row.get("executedQty") and float(row["executedQty"]) > 0:
            assert order["filled"] == pytest.approx(float(row["executedQty"]))
            assert order["average"] == pytest.approx(float(row["avgPrice"]))
            assert order["fee"]["cost"] is not None and float(order["fee"]["cost"]) == abs(float(row["commission"]))


def test_resting_stop_has_no_price_but_its_trigger() -> None:
    """BingX's resting STOP_MARKET row: price "0", the trigger in stopPrice, execution figures empty."""
    row = corpus.entry("order", "swap-stop-market-new").data["order"]
    assert row["price"] == "0" and row["stopPrice"] == "20.00"
    assert row["cumQuote"] == row["profit"] == row["commission"] == ""


# ---------------------------------------------------------------- the other reads ccxt makes for the package
def test_recorded_reads_parse(sim: BingXSimulator, client: BingX) -> None:
    replay(sim, "swap/v3/user/balance", corpus.entry("balance", "swap-usdt").response)
    balance = client.fetch_balance({"type": "swap"})
    assert balance["USDT"]["free"] == pytest.approx(193.7609) and balance["USDT"]["used"] == pytest.approx(1.0602)
    replay(sim, "swap/v2/user/income", corpus.entry("income", "swap-funding-fees").response)
    fees = client.fetch_funding_history("LTC/USDT:USDT")
    assert sorted(f["id"] for f in fees) == ["1769048666279853387_310_1723487", "1769048666279853387_310_1941328"]
    assert sum(f["amount"] for f in fees) == pytest.approx(-0.00065675)
    replay(sim, "swap/v2/trade/marginType", corpus.entry("margin_type", "swap-crossed").response)
    assert client.fetch_margin_mode("BTC/USDT:USDT")["marginMode"] == "cross"
    replay(sim, "swap/v2/trade/leverage", corpus.entry("leverage", "swap-doc-query").response)
    assert client.fetch_leverage("BTC/USDT:USDT")["longLeverage"] == 6
    replay(sim, "swap/v2/server/time", corpus.entry("server_time", "doc-example").response)
    assert client.fetch_time() == 1672025091160


# ---------------------------------------------------------------- error bodies
ERROR_CLASSES = {
    80014: errors.ClockSkew, 100421: errors.ClockSkew, 100419: errors.IpNotWhitelisted, 100410: errors.RateLimited,
    100413: errors.InvalidApiKey, 109400: errors.UnknownSymbol, 80020: errors.RiskControlRejected,
    109201: errors.AlreadySubmitted, 80018: errors.OrderMissing, 80001: errors.ServiceUnavailable,
    109414: errors.OrderMissing, 100001: errors.SignatureRejected,
}


@pytest.mark.parametrize("entry", corpus.entries("errors"), ids=lambda e: e.name)
def test_error_bodies_map_to_the_documented_meaning(sim: BingXSimulator, client: BingX, entry: corpus.Entry) -> None:
    replay(sim, CLOSE, entry.response)
    with pytest.raises(ERROR_CLASSES[entry.response["code"]]) as raised:
        client.swapV2PrivatePostTradeCloseAllPositions({})
    assert raised.value.code == entry.response["code"]
    if isinstance(raised.value, errors.RateLimited) and re.search(r"\d{13}", entry.response["msg"]):
        assert str(raised.value.retry_after) in entry.response["msg"]


def test_error_code_as_a_string_is_still_an_error(sim: BingXSimulator, client: BingX) -> None:
    """Derived: BingX sends ``code`` as the string "0" on most recorded answers; a non-zero one the same way."""
    body = dict(corpus.entry("errors", "100413-api-key").response, code="100413")
    replay(sim, CLOSE, body)
    with pytest.raises(errors.InvalidApiKey):
        client.swapV2PrivatePostTradeCloseAllPositions({})


# ---------------------------------------------------------------- the simulator against the corpus
def _simulator_answers(sim: BingXSimulator, hedge: bool) -> dict[str, dict]:
    """One simulator answer per corpus endpoint, from an account shaped like the recorded ones."""
    client = make_client(BingX, sim)
    side = "LONG" if hedge else "BOTH"
    sim.seed_position("LTC-USDT", "LONG", 1.0)
    sim.seed_position("BTC-USD", "LONG", 1.0)
    stop = sim.seed_order("LTC-USDT", "SELL", "STOP_MARKET", 1.0, stop_price=20.0, position_side=side,
                          reduce_only=not hedge)
    out = {
        "order": client.swapV2PrivateGetTradeOrder({"symbol": "LTC-USDT", "orderId": stop}),
        "open_orders": client.swapV2PrivateGetTradeOpenOrders({}),
        "positions": client.swapV2PrivateGetUserPositions({}),
        "positions/cswap": client.cswapV1PrivateGetUserPositions({}),
        "place_order": client.swapV2PrivatePostTradeOrder({"symbol": "LTC-USDT", "side": "SELL", "positionSide": side,
                                                           "type": "TAKE_PROFIT_MARKET", "quantity": 1,
                                                           "stopPrice": 1000}),
        "cancel_order": client.swapV2PrivateDeleteTradeOrder({"symbol": "LTC-USDT", "orderId": stop}),
        "cancel_all": client.swapV2PrivateDeleteTradeAllOpenOrders({"symbol": "LTC-USDT"}),
        "close_all_positions": client.swapV2PrivatePostTradeCloseAllPositions({}),
        "balance": client.swapV3PrivateGetUserBalance({}),
        "income": client.swapV2PrivateGetUserIncome({}),
        "server_time": client.swapV2PublicGetServerTime({}),
        "contracts": client.swapV2PublicGetQuoteContracts({}),
        "contracts/cswap": client.cswapV1PublicGetMarketContracts({}),
        "ticker": client.swapV2PublicGetQuoteTicker({}),
        "leverage": client.swapV2PrivateGetTradeLeverage({"symbol": "BTC-USDT"}),
        "margin_type": client.swapV2PrivateGetTradeMarginType({"symbol": "BTC-USDT"}),
        "margin_type/cswap": client.cswapV1PrivateGetTradeMarginType({"symbol": "BTC-USD"}),
    }
    out["all_orders"] = client.swapV2PrivateGetTradeAllOrders({"symbol": "LTC-USDT", "limit": 10})
    return out


# The recorded shapes the simulator does not copy, each one named in the simulator's package docstring
# ("Known gaps against recorded answers"). The comparison below fails on any other difference, and on a gap
# listed here that no longer shows (fixed: take it off the list).
ORDER_ROW_GAPS = {"orderId: string in BingX's answer, number in ours",
                  "time: string in BingX's answer, number in ours",
                  "updateTime: string in BingX's answer, number in ours",
                  "advanceAttr: string in BingX's answer, number in ours",
                  "positionID: string in BingX's answer, number in ours",
                  "takeProfitEntrustPrice: string in BingX's answer, number in ours",
                  "stopLossEntrustPrice: string in BingX's answer, number in ours",
                  "triggerOrderId: string in BingX's answer, number in ours",
                  "takeProfit.quantity: string in BingX's answer, number in ours",
                  "takeProfit.stopPrice: string in BingX's answer, number in ours",
                  "takeProfit.price: string in BingX's answer, number in ours",
                  "stopLoss.quantity: string in BingX's answer, number in ours",
                  "stopLoss.stopPrice: string in BingX's answer, number in ours",
                  "stopLoss.price: string in BingX's answer, number in ours",
                  "timeInForce: extra"}
ENVELOPE_GAPS = {"code: string in BingX's answer, number in ours", "timestamp: extra"}


def _prefixed(prefix: str, gaps: set[str]) -> set[str]:
    return {f"{prefix}.{g}" for g in gaps}


KNOWN_GAPS: dict[str, set[str]] = {
    "close_all_positions/swap-success-failed-null": ENVELOPE_GAPS,
    "positions/swap-hedge-long": ENVELOPE_GAPS | {
        "data[].leverage: string in BingX's answer, number in ours",
        "data[].liquidationPrice: string in BingX's answer, number in ours",
        "data[].margin: extra", "data[].createTime: extra", "data[].updateTime: extra"},
    "positions/cswap-long": ENVELOPE_GAPS | {
        "data[].margin: extra", "data[].realisedProfit: extra", "data[].pnlRatio: extra",
        "data[].positionValue: extra", "data[].onlyOnePosition: extra", "data[].createTime: extra"},
    "all_orders/swap-hedge-short-filled": ENVELOPE_GAPS | _prefixed("data.orders[]", (ORDER_ROW_GAPS | {
        "onlyOnePosition: extra", "reduceOnly: extra", "postOnly: extra", "stopGuaranteed: extra",
        "trailingStopRate: extra", "trailingStopDistance: extra", "takeProfit.stopGuaranteed: extra",
        "stopLoss.stopGuaranteed: extra", "triggerOrderId: extra"}) - {
        "triggerOrderId: string in BingX's answer, number in ours"}),
    "order/swap-stop-market-new": ENVELOPE_GAPS | _prefixed("data.order", ORDER_ROW_GAPS),
    "order/swap-hedge-long-market-filled": ENVELOPE_GAPS | _prefixed("data.order", ORDER_ROW_GAPS | {
        "postOnly: extra", "trailingStopRate: extra", "trailingStopDistance: extra",
        "takeProfit.stopGuaranteed: extra", "stopLoss.stopGuaranteed: extra"}),
    "place_order/swap-hedge-market-reduce-only": ENVELOPE_GAPS | _prefixed("data.order", {
        "orderId: string in BingX's answer, number in ours", "activationPrice: extra", "closePosition: extra",
        "stopGuaranteed: extra"}),
    "place_order/swap-oneway-take-profit-market": ENVELOPE_GAPS | {
        "data.order.orderId: string in BingX's answer, number in ours"},
    "place_order/swap-oneway-trigger-market": ENVELOPE_GAPS | {
        "data.order.orderId: string in BingX's answer, number in ours"},
    "place_order/swap-hedge-limit-short-answer": ENVELOPE_GAPS | _prefixed("data.order", {
        "orderId: string in BingX's answer, number in ours", "price: extra", "quantity: extra", "stopPrice: extra",
        "timeInForce: extra", "priceRate: extra", "stopLoss: extra", "takeProfit: extra", "reduceOnly: extra",
        "activationPrice: extra", "closePosition: extra", "stopGuaranteed: extra"}),
    "place_order/swap-oneway-limit-unwrapped": {"code: string in BingX's answer, number in ours", "debugMsg: missing",
                                                "timestamp: extra", "data.orderId: missing", "data.orderID: missing",
                                                "data.symbol: missing", "data.positionSide: missing",
                                                "data.side: missing", "data.type: missing", "data.price: missing",
                                                "data.quantity: missing", "data.quoteOrderQty: missing",
                                                "data.stopPrice: missing", "data.workingType: missing",
                                                "data.clientOrderID: missing", "data.clientOrderId: missing",
                                                "data.timeInForce: missing", "data.priceRate: missing",
                                                "data.stopLoss: missing", "data.takeProfit: missing",
                                                "data.reduceOnly: missing", "data.activationPrice: missing",
                                                "data.closePosition: missing", "data.stopGuaranteed: missing",
                                                "data.status: missing", "data.avgPrice: missing",
                                                "data.executedQty: missing", "data.order: extra"},
    "contracts/cswap-btc-usd": {"timestamp: extra",
                                "data[].pricePrecision: string in BingX's answer, number in ours",
                                "data[].status: string in BingX's answer, number in ours",
                                "data[].timeOnline: string in BingX's answer, number in ours",
                                "data[].displayName: missing"},
    "income/swap-funding-fees": ENVELOPE_GAPS | {"data[].time: string in BingX's answer, number in ours"},
    "margin_type/swap-crossed": ENVELOPE_GAPS,
    "margin_type/cswap-crossed": {"code: string in BingX's answer, number in ours",
                                  "timestamp: string in BingX's answer, number in ours"},
    "balance/swap-usdt": {"timestamp: extra"},
}
# Documentation examples are abridged: only what they show is compared (the simulator may add fields).
KNOWN_DOC_GAPS: dict[str, set[str]] = {
    "contracts/swap-doc-example": {"data[].feeRate: number in BingX's answer, string in ours"},
}


def _answer_for(entry: corpus.Entry, answers: dict[str, dict]) -> dict | None:
    cswap = entry.request["path"].startswith("/openApi/cswap/")
    if entry.endpoint in ("cancel_batch", "batch_orders", "position_mode", "errors"):
        return None  # not served by the simulator (batch) / no answer to compare / compared above
    if entry.endpoint == "leverage" and entry.request["method"] == "POST":
        return None
    if entry.endpoint == "margin_type" and entry.request["method"] == "POST":
        return None
    if entry.endpoint == "order" and cswap:
        return None  # the coin-M order query (orderDetail) is not served: a known gap
    return answers[f"{entry.endpoint}/cswap" if cswap else entry.endpoint]


@pytest.mark.parametrize("hedge", [False, True], ids=["one-way", "hedge"])
def test_simulator_answers_in_the_shapes_bingx_answers(hedge: bool) -> None:
    with BingXSimulator(api_key=API_KEY, api_secret=API_SECRET, hedge_mode=hedge) as sim:
        answers = _simulator_answers(sim, hedge)
    found: dict[str, set[str]] = {}
    for entry in corpus.entries():
        ours = _answer_for(entry, answers)
        if ours is None:
            continue
        subset = entry.kind == "documentation"
        differences = set(corpus.shape_differences(entry.response, ours, subset=subset))
        known = (KNOWN_DOC_GAPS if subset else KNOWN_GAPS).get(entry.id, set())
        found[entry.id] = differences
        assert differences == known, (entry.id, sorted(differences - known), sorted(known - differences))
    assert set(KNOWN_GAPS) | set(KNOWN_DOC_GAPS) <= set(found)


def test_every_known_gap_is_written_down_in_the_simulator_docs() -> None:
    doc = simulator_package.__doc__ or ""
    assert "Known gaps against recorded answers" in doc
    fields = {re.split(r"[:.\[]", gap.split(": ")[0].split(".")[-1])[0] for gaps in
              [*KNOWN_GAPS.values(), *KNOWN_DOC_GAPS.values()] for gap in gaps}
    missing = sorted(f for f in fields if f"``{f}``" not in doc)
    assert not missing, f"name these fields in the simulator's docstring: {missing}"


def test_the_shape_comparison_catches_a_planted_difference() -> None:
    real = corpus.entry("order", "swap-stop-market-new").response
    planted = copy.deepcopy(real)
    planted["data"]["order"]["orderId"] = 1
    del planted["data"]["order"]["stopPrice"]
    planted["data"]["order"]["extraField"] = ""
    assert set(corpus.shape_differences(real, planted)) == {
        "data.order.orderId: string in BingX's answer, number in ours", "data.order.stopPrice: missing",
        "data.order.extraField: extra"}
    assert corpus.shape_differences(real, planted, subset=True) == [
        "data.order.orderId: string in BingX's answer, number in ours", "data.order.stopPrice: missing"]
