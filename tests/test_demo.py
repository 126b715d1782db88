"""The README's first command: ``bingx-closeall-demo`` flattens its seeded account in one closeAllPositions."""

from __future__ import annotations

import re

from bingx_closeall_plugin import demo


def test_the_demo_flattens_with_one_close_sent_first_beside_the_order_read(capsys):
    assert demo.main([]) == 0
    out = capsys.readouterr().out
    wire = re.findall(r"^  (GET|POST|DELETE) +(\S+)  -> code 0$", out.split("in order of arrival:")[1], re.M)
    paths = [path.rsplit("/", 1)[-1] for _, path in wire]
    assert paths.count("closeAllPositions") == 1
    # sent at t0: the close and the open-orders read, in either order of arrival; everything else after them
    assert set(paths[:2]) == {"closeAllPositions", "openOrders"}, paths
    assert "closeAllPositions requests: 1; positions left: 0; open orders left: 0" in out
    assert "FLAT:" in out
