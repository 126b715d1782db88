"""A minimal BingX futures strategy for freqtrade-bingx: long and short, 3x, stoploss on exchange.

It enters only when asked (``/forceenter``) and exits at -10 % (the stop on BingX) or by ``/forceexit``:
a starting point and the strategy the plugin's own bot tests run.
"""

from freqtrade.strategy import IStrategy
from pandas import DataFrame

# Installs the plugin in this interpreter (idempotent). freqtrade builds the exchange before it loads the
# strategy, so start the bot with `freqtrade-bingx`, which installs it before that.
import bingx_closeall_plugin.freqtrade  # noqa: F401


class BingxFuturesSample(IStrategy):
    INTERFACE_VERSION = 3
    timeframe = "5m"
    can_short = True
    minimal_roi = {"0": 100}  # no ROI exit: exits come from the stop or from /forceexit
    stoploss = -0.10
    startup_candle_count = 0
    order_types = {
        "entry": "market",
        "exit": "market",
        "stoploss": "market",
        "stoploss_on_exchange": True,  # reduce-only STOP_MARKET on BingX
        "stoploss_price_type": "mark",  # workingType MARK_PRICE
    }

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
