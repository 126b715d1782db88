"""The masking filter, as a unit: the integration path is covered by the CLI's verbose test."""

from __future__ import annotations

import logging

from bingx_closeall_plugin.core.redaction import SecretMasker, mask


def test_signatures_keys_and_secrets_are_masked():
    url = "POST http://h/openApi/swap/v2/trade/closeAllPositions?timestamp=1&signature=" + "ab12" * 16
    headers = "{'X-BX-APIKEY': 'k-123', 'X-SOURCE-KEY': 'CCXT'}"
    text = mask(f"{url} {headers} secret=s3cr3t", ("s3cr3t",))
    assert "ab12" not in text and "k-123" not in text and "s3cr3t" not in text
    assert "signature=***" in text and "CCXT" in text


def test_filter_masks_arguments_and_exception_text(caplog):
    log = logging.getLogger("test.redaction")
    handler = logging.Handler()
    records = []
    handler.emit = records.append
    handler.addFilter(SecretMasker("the-secret"))
    log.addHandler(handler)
    try:
        try:
            raise ValueError("failed with the-secret inside")
        except ValueError:
            log.error("request %s", "with the-secret", exc_info=True)
    finally:
        log.removeHandler(handler)
    (record,) = records
    assert record.getMessage() == "request with ***"
    assert "the-secret" not in record.exc_text and "***" in record.exc_text


SIGNED = "GET http://h/openApi/swap/v2/user/positions?timestamp=1&signature=" + "cd34" * 16


def test_mask_value_masks_every_string_of_a_nested_answer():
    from bingx_closeall_plugin.core.redaction import mask_value

    answer = {"result": f"refused: {SIGNED}", "closed": [{"pair": "BTC/USDT:USDT", "note": ("k-1", 2)}],
              "count": 3, "ok": True, "none": None}
    masked = mask_value(answer, ("k-1",))
    assert "cd34" not in repr(masked) and "k-1" not in repr(masked)
    assert masked["closed"][0]["pair"] == "BTC/USDT:USDT" and masked["count"] == 3 and masked["ok"] is True
    assert answer["result"].endswith("cd34")  # the input is left as it was


def test_mask_exception_keeps_class_attributes_and_chain():
    import ccxt

    from bingx_closeall_plugin.core.redaction import mask_exception

    cause = OSError(f"connection reset: {SIGNED}")
    try:
        try:
            raise cause
        except OSError as e:
            raise ccxt.NetworkError(f"bingx {SIGNED}") from e
    except ccxt.NetworkError as e:
        error = e
    error.close_requests = 2
    assert mask_exception(error) is error
    assert type(error) is ccxt.NetworkError and error.close_requests == 2 and error.__cause__ is cause
    assert "cd34" not in str(error) and "cd34" not in str(cause) and "signature=***" in str(error)
