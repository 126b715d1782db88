"""The bot soak at CI size: seeded open-then-flatten cycles through a live bot, a random fault each, 0 violations.

The cycles, faults and invariants live in benchmarks/soak_bot.py (which prints the same figures for longer
runs); this test runs them against conftest's simulator and a bot from ``start_bot``.
"""

from __future__ import annotations

import pytest

from conftest import API_KEY, API_SECRET, load_benchmark

pytestmark = pytest.mark.freqtrade

CYCLES, SEED = 12, 3




def test_bot_soak_has_no_violation(simulator, start_bot, tmp_path_factory):
    soak = load_benchmark("soak_bot")
    simulator.reset()
    home = tmp_path_factory.mktemp("soak-bot")
    config = soak.bot_config(home, simulator, API_KEY, API_SECRET)
    bot = start_bot(simulator.base_url, tmp=home, exchange=config["exchange"], max_open_trades=len(soak.PAIRS))

    figures = soak.run(bot, simulator, CYCLES, SEED, API_KEY, API_SECRET)

    print(figures.report(SEED))
    assert figures.violations == []
    assert figures.cycles == CYCLES and len(figures.faults) >= 8
