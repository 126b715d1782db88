"""A local BingX perpetual-futures exchange simulator: a test double of BingX's REST API.

Unmodified ccxt ``bingx`` (sync and async) runs against it once its API URLs point at
``sim.base_url + '/openApi'``. Answers copy the shapes of BingX's documentation (and of the
sample responses in ccxt's ``bingx.py``): ``{"code": 0, "msg": "", "timestamp": ..., "data": ...}``,
errors as HTTP 200 with a non-zero code, 19-digit order ids as JSON integers.

What it models
--------------
* Auth like BingX: ``X-BX-APIKEY`` header, hex HMAC-SHA256 of the query string before
  ``&signature=`` (the raw or the URL-decoded form; a form or JSON body is accepted too),
  ``timestamp`` checked against ``recvWindow`` (default 5000 ms, capped at 60000) on a server clock
  that can be skewed (``clock_offset_ms``). Codes 100413 / 100001 / 100421, checked in that order.
* USDT-M (71 contracts, among them coins ccxt renames: TRUMPSOL-USDT is ccxt's TRUMP/USDT:USDT,
  TRUMP-USDT its TRUMPMAGA, OMNI OmniCat, SNOW Snowman, NAP $NAP; ``extra_contracts=N`` / ``--extra-contracts N``
  lists N made-up ones more, X001-USDT ..., for bots of more pairs) and coin-M (BTC-USD, ETH-USD)
  perpetuals: balances, positions (one-way by default, hedge mode optional), leverage and margin type
  per symbol, MARKET / LIMIT / STOP_MARKET / TAKE_PROFIT_MARKET / STOP / TAKE_PROFIT / TRIGGER_MARKET /
  TRIGGER_LIMIT orders,
  fills at the single simulated price, taker 0.05 % / maker 0.02 % fees, realised PnL, order and
  fill history, income records (REALIZED_PNL, TRADING_FEE, FUNDING_FEE).
* One-way orders larger than the position flip it; reduce-only orders are clamped and never flip;
  in hedge mode ``positionSide`` must be LONG/SHORT and a ``reduceOnly`` parameter is rejected
  (109400), and orders are listed with ``reduceOnly`` false, their closing legs (LONG+SELL,
  SHORT+BUY) included; in one-way mode ``positionSide`` must be BOTH.
* ``closeAllPositions`` (swap v2 and cswap v1): one market order per position (two for a hedged
  symbol with both legs), answered ``{"success": [order ids], "failed": null | [positionIds]}``;
  it does not cancel open orders. Choices: unknown/lower-case ``symbol`` -> 109400
  "<symbol>,symbol not exist, ..."; a ``symbol`` without a position -> 101205 "No position to
  close"; no symbol and nothing open -> success ``[]``, failed ``null``. At most 5 accepted
  requests per API key in any sliding 1 s window; beyond that 100410 "... disabled period and will
  be unblocked after <epoch ms>" (rejected requests do not extend the window). The coin-M answer
  carries ids as strings, as BingX documents it; the USDT-M answer as integers.
* Funding: a fixed rate of 0.01 % settled lazily at each 8 h UTC boundary (00/08/16) crossed
  while the simulator runs, before every private request.
* Market data is synthetic and deterministic: klines for any range (and mark-price klines) follow a
  fixed function of time around each contract's default price; only the candle containing "now"
  closes at the current (settable) price. Order book: evenly spaced levels one tick apart; asks listed
  far-to-near as BingX does. Depth ``limit`` must be one of 5/10/20/50/100/500/1000.
* An order gone from every read (``drop_order``): the order query then answers 80016 "order not exist",
  as BingX does for an order it no longer keeps.
* ``clientOrderID`` is stored and answered lowercased, as BingX documents; its uniqueness and BingX's
  "LIMIT/MARKET only" rule for it are not enforced.
* Fault injection per path suffix (:class:`Fault`, an arbitrary answer body included), latency, a
  request log without secrets (:class:`RequestRecord`), a record of fills that reversed or over-closed a
  position (``reversals()``), and ``GET /_sim/state``.

What it does NOT model
----------------------
* No matching engine, no other traders, no slippage, no partial fills (reduce-only clamping aside),
  mark price == last price == index price.
* No liquidation, no maintenance-margin calls; margin is checked only when opening
  (notional / leverage against a simple available balance), cross and isolated are bookkept alike.
* Attached stopLoss/takeProfit on an order, trailing orders, TWAP, batch orders, order editing,
  cancel-all-after, position-margin changes, sub-accounts, transfers, spot trading, websockets,
  the "standard contract" endpoints: not served (unknown paths answer HTTP 404 ``100400``).
* Rate limits other than closeAllPositions' 5/s; BingX's IP-based limits; ``recvWindow`` semantics
  beyond the absolute-difference check.
* Precision is rounded, not rejected; minimum notional (tradeMinUSDT) is not enforced, only the minimum
  quantity. Market reduce-only orders without a position are rejected with 101205; resting reduce-only
  orders that trigger with nothing to reduce are cancelled.
* Position dicts carry ``positionId`` as a string, as BingX documents it; ``failed`` in the
  closeAllPositions answer lists them as integers.

Known gaps against recorded answers
-----------------------------------
``tests/test_bingx_corpus.py`` compares the shape of every answer with BingX's recorded answers
(``tests/fixtures/bingx/``, from ccxt's static tests) and fails on any difference not listed here:

* The envelope: BingX sends ``code`` as the string ``"0"`` on most swap v2 answers (positions, orders,
  closeAllPositions, income, marginType), the number 0 on others (balance); ours is always the number 0,
  and always carries a top-level ``timestamp`` (a number; the recorded coin-M marginType has it as a string).
  A placed order's answer is always wrapped in ``order``; BingX's newer answer puts the order directly under
  ``data`` with ``orderID`` beside ``orderId``, ``debugMsg``, ``status`` ``PENDING``, ``avgPrice``,
  ``executedQty``, ``quoteOrderQty``, ``clientOrderId`` and attached ``stopLoss`` objects; BingX's short
  answer (``symbol``, ``side``, ``type``, ``workingType``, ``clientOrderID`` only, no ``priceRate``,
  ``price`` or ``quantity``) is not produced either.
* Order rows: ``orderId``, ``time``, ``updateTime``, ``advanceAttr``, ``positionID``,
  ``takeProfitEntrustPrice``, ``stopLossEntrustPrice`` and ``triggerOrderId`` are numbers as BingX's
  documentation shows them; the recorded USDT-M rows (2024) carry them as strings, and the nested
  ``takeProfit`` / ``stopLoss`` ``quantity``, ``stopPrice``, ``price`` too (the coin-M record keeps numbers, as
  ours). Ours add ``timeInForce``, and list ``onlyOnePosition``, ``reduceOnly``, ``postOnly``,
  ``stopGuaranteed``, ``trailingStopRate`` and ``trailingStopDistance`` (and ``stopGuaranteed`` in the nested
  objects) on history rows too, where the older recorded row has none of them.
* Position rows: USDT-M ``leverage`` and ``liquidationPrice`` are numbers (recorded: strings, ``"5"`` and
  ``"0"``; the coin-M record has numbers); ours add ``margin``, ``createTime`` and ``updateTime`` (coin-M
  records carry ``updateTime`` only); coin-M rows add ``realisedProfit``, ``pnlRatio``, ``positionValue`` and
  ``onlyOnePosition``, which the recorded coin-M row lacks.
* Contracts: coin-M ``pricePrecision``, ``status`` and ``timeOnline`` are numbers (recorded: strings), no
  ``displayName``; USDT-M ``feeRate`` is a string (BingX's 2022 documentation example: a number).
* Income rows: ``time`` is a number (recorded: a string); ``tranId`` / ``tradeId`` are plain integers as
  strings where BingX's are composite (``"1769048666279853387_310_1941328"``).
* Not served, so not compared: batch orders and batch cancel, the coin-M order query (``orderDetail``).
  Fixed from the corpus: a resting order's ``cumQuote``, ``profit`` and ``commission`` are ``""`` until it
  fills, and the answer to a new order carries ``price`` / ``quantity`` / ``stopPrice`` as strings (a
  conditional order: ``"0"`` and its trigger) with ``activationPrice``, ``closePosition``, ``stopGuaranteed``.
"""

from .faults import Fault
from .server import BingXSimulator, RequestRecord

__all__ = ["BingXSimulator", "Fault", "RequestRecord"]
