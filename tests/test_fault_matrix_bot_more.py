"""The fault matrix's freqtrade column, second half of its cells: a live freqtrade-bingx bot flattening through
its REST API under one fault per cell. The table, the checks and the fixtures are tests/fault_matrix_bot.py's;
each half runs on a bot of its own, so two workers share the column.
"""

from __future__ import annotations

import pytest

import fault_matrix_bot as matrix
from fault_matrix_bot import CELLS, Cell, Scanned, check_cell

pytestmark = pytest.mark.freqtrade

# The module's own bot, its simulator reset per cell, and its secrets scan (module-scoped fixtures).
bot, sim, scanned = matrix.bot, matrix.sim, matrix.scanned

HALF = len(CELLS) // 2


@pytest.mark.parametrize("cell", CELLS[HALF:], ids=lambda cell: cell.id)
def test_fault(bot, sim, cell: Cell, telegram_double, scanned: Scanned) -> None:
    check_cell(bot, sim, cell, telegram_double, scanned)
