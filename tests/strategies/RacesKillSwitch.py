"""The sample strategy plus a kill switch the race tests pull: ``request_flatten()`` from ``bot_loop_start``.

A test writes ``flatten.request`` (``forceexit`` or ``closeall``) in the bot's user data directory; the bot's next
loop iteration takes the file away and calls ``request_flatten`` as a drawdown kill switch would, and writes the
Future's answer (its ``status``, or the exception's type) to ``flatten.answer`` when it is done. The pairs a test
lists in ``exit.kept`` (one per line) are kept: ``confirm_trade_exit`` denies their exits.
"""

import json
from datetime import datetime
from pathlib import Path

from freqtrade.strategy import IStrategy
from pandas import DataFrame

from bingx_closeall_plugin.freqtrade import request_flatten


class RacesKillSwitch(IStrategy):
    """examples/strategies/BingxFuturesSample.py's trading (entries only when asked, 3x, stop on BingX)."""

    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    minimal_roi = {"0": 100}
    stoploss = -0.10
    startup_candle_count = 0
    order_types = {"entry": "market", "exit": "market", "stoploss": "market", "stoploss_on_exchange": True,
                   "stoploss_price_type": "mark"}

    def populate_indicators(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        return dataframe

    def populate_entry_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["enter_long"] = 0
        dataframe["enter_short"] = 0
        return dataframe

    def populate_exit_trend(self, dataframe: DataFrame, metadata: dict) -> DataFrame:
        dataframe["exit_long"] = 0
        dataframe["exit_short"] = 0
        return dataframe

    def leverage(self, pair: str, current_time, current_rate: float, proposed_leverage: float,
                 max_leverage: float, entry_tag: str | None, side: str, **kwargs) -> float:
        return min(3.0, max_leverage)

    def bot_loop_start(self, current_time: datetime, **kwargs) -> None:
        request = Path(self.config["user_data_dir"]) / "flatten.request"
        try:
            kind = request.read_text().strip()
            request.unlink()
        except FileNotFoundError:
            return
        future = request_flatten(self, account_wide=kind == "closeall")
        answer = request.with_name("flatten.answer")

        def done(f) -> None:
            error = f.exception()
            text = json.dumps({"status": (f.result() or {}).get("status")} if error is None
                              else {"error": type(error).__name__})
            answer.with_suffix(".tmp").write_text(text)
            answer.with_suffix(".tmp").replace(answer)

        future.add_done_callback(done)

    def confirm_trade_exit(self, pair: str, trade, order_type: str, amount: float, rate: float, time_in_force: str,
                           exit_reason: str, current_time: datetime, **kwargs) -> bool:
        try:
            kept = (Path(self.config["user_data_dir"]) / "exit.kept").read_text().split()
        except FileNotFoundError:
            return True
        return pair not in kept
