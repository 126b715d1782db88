"""A drawdown kill switch: when the open trades together lose more than ``max_drawdown`` of their stake,
flatten everything on BingX in one request, from the strategy itself.

``request_flatten()`` hands the flatten to the plugin's worker thread, which waits for the bot's exit
lock: it is safe from any callback, whether or not freqtrade holds that lock at the moment. It returns a
Future with the same answer as ``/forceexit all`` (``account_wide=True`` makes it ``/closeall``).
"""

from datetime import datetime

from freqtrade.persistence import Trade
from freqtrade.strategy import IStrategy
from pandas import DataFrame

from bingx_closeall_plugin.freqtrade import request_flatten


class BingxKillSwitch(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    minimal_roi = {"0": 100}
    stoploss = -0.10
    startup_candle_count = 0
    order_types = {
        "entry": "market",
        "exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": True,
        "stoploss_price_type": "mark",
    }

    max_drawdown = 0.05  # of the open trades' stake

    def bot_start(self, **kwargs) -> None:
        self._flatten = None  # the Future of a flatten in flight

    def bot_loop_start(self, current_time: datetime, **kwargs) -> None:
        if self._flatten is not None and not self._flatten.done():
            return  # already flattening
        trades = Trade.get_open_trades()
        stake = sum(trade.stake_amount for trade in trades)
        if not trades or not stake:
            return
        profit = sum(trade.calc_profit(rate=self.dp.ticker(trade.pair)["last"]) for trade in trades)
        if profit / stake < -self.max_drawdown:
            self.dp.send_msg(f"Kill switch: open trades at {profit / stake:.1%} of stake; flattening on BingX.")
            self._flatten = request_flatten(self)

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
