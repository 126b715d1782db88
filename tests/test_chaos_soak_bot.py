"""The chaos soak at CI size: seeded entries, stop triggers, presses, kill -9 points and the guard's direct
flatten through a real bot restarted on its own database; the books invariant holds after every cycle.

The steps, kill points and figures live in benchmarks/chaos_soak.py (300 cycles there, figures in
docs/reliability.md); this test runs a short seeded run against conftest's simulator and ``start_bot``.
"""

from __future__ import annotations

import pytest

from conftest import API_KEY, API_SECRET, load_benchmark

pytestmark = pytest.mark.freqtrade

CYCLES, SEED = 10, 5  # seed 5 draws a kill point and the guard's direct flatten of a dead bot in ten cycles




def test_chaos_soak_keeps_the_books_and_bingx_in_agreement(simulator, start_bot, tmp_path_factory):
    chaos = load_benchmark("chaos_soak")
    simulator.reset()
    home = tmp_path_factory.mktemp("chaos-bot")
    config = chaos.bot_config(home, simulator, API_KEY, API_SECRET)

    def start():
        return start_bot(simulator.base_url, tmp=home, exchange=config["exchange"], pairs=chaos.PAIRS,
                         max_open_trades=len(chaos.PAIRS))

    figures = chaos.run(simulator, start, CYCLES, SEED, API_KEY, API_SECRET)

    print(figures.report(SEED))
    assert figures.violations == []
    assert figures.cycles == CYCLES and figures.kills >= 2 and figures.restarts == figures.kills
