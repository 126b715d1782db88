"""The masking filter, as a unit: the integration path is covered by the CLI's verbose test."""

from __future__ import annotations

import logging

from bingx_closeall_plugin.redaction import SecretMasker, mask


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
