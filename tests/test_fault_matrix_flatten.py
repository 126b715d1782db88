"""The fault matrix's ``flatten`` column: the end state, the report and the request count under every fault.

The rows, the seeded account and the checks are in tests/fault_matrix.py.
"""

from __future__ import annotations

import pytest

from bingx_closeall_plugin import flatten

from fault_matrix import (
    ROWS,
    api_client,
    assert_end_state,
    assert_orders,
    assert_said_so,
    seed,
)


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.id)
def test_flatten(sim, row, refused_url):
    orders = seed(sim)
    row.arm(sim)
    client = api_client(sim, row, refused_url)

    if row.flatten.raises is not None:
        with pytest.raises(row.flatten.raises) as caught:
            flatten(client)
        report = caught.value.flatten_report  # what the refused close left: stops kept, entries cancelled
        assert report.error is caught.value and not report.flat
        assert_said_so(report.to_dict(), orders, row.flatten, row)
    else:
        report = flatten(client)
        assert report.close_requests == row.flatten.closes  # refused re-closes counted too
        assert sorted(p["symbol"] for p in report.remaining_positions) == sorted(row.flatten.remaining)
        assert report.flat == (not row.flatten.remaining and row.flatten.report_error is None)
        if row.flatten.report_error is None:
            assert report.error is None
        else:
            assert isinstance(report.error, row.flatten.report_error)
        assert_said_so(report.to_dict(), orders, row.flatten, row)

    assert_end_state(sim, row.flatten)
    assert_orders(sim, orders, row.flatten, row, cancels=True)
