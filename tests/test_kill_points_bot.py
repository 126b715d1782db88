"""kill -9 at every named point of a bot's life on BingX, then a restart on the same database: the books and
BingX agree (tests/books_invariant.py) within 90 s, and nothing is closed twice. Each test runs its own bot."""

from __future__ import annotations

import pytest

from books_invariant import BooksInvariant
from kill_points import press_and_kill

pytestmark = pytest.mark.freqtrade

CLOSE = "trade/closeAllPositions"
PAIRS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def foreign(sim):
    """A position and a resting order the bot does not own (SOL is not on its whitelist)."""
    sim.seed_position("SOL-USDT", "LONG", 1.0)
    sim.seed_order("SOL-USDT", side="SELL", type="STOP_MARKET", quantity=1.0, stop_price=1.0)


@pytest.mark.parametrize("when", ["before", "after"])
def test_forceexit_all_killed_with_the_close_in_flight(sim, start_bot, tmp_path_factory, when):
    home = tmp_path_factory.mktemp("kill-close")
    bot = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    foreign(sim)
    bot.force_enter([(pair, "long") for pair in PAIRS], sim)
    books = BooksInvariant(sim, bot)
    sim.clear_requests()
    hold = sim.hold(CLOSE, when=when)

    press_and_kill(bot, hold, lambda: bot.api("POST", "/forceexit", {"tradeid": "all"}, timeout=90))

    restarted = start_bot(sim.base_url, tmp=home, pairs=PAIRS)
    books.bot = restarted
    books.wait_holds()
    assert len(sim.requests_to(CLOSE)) == 1, "the restart never sends a close"
