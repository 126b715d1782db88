"""One custom-data key on many trades in one commit: the flatten's intent, written before its close goes out and
removed once its trades are booked.

freqtrade's ``Trade.set_custom_data`` commits once per trade (``CustomDataWrapper.set_custom_data``: a read, then
an insert and a commit), and on sqlite every commit is a sync to disk: at 200 trades the intent alone took about
0.15 s between the press and the close. :func:`set_on_all` writes the same rows (freqtrade's ``_CustomData``,
``cd_type`` "str" as ``set_custom_data`` stores a string, read back by ``Trade.get_custom_data``) through
freqtrade's own custom-data session (before 2026.9 it has one of its own, not the trades'), replacing any earlier
value of the key on those trades, with one commit for all of them; :func:`delete_on_all` removes the key from them
the same way (freqtrade's ``delete_custom_data`` commits per trade too, and is new in 2026.9: one query serves every
supported release). Both need freqtrade's database: a flatten runs in a live bot only (backtesting and hyperopt
keep custom data in memory, ``CustomDataWrapper.use_db`` off, and never flatten).
"""

from __future__ import annotations

from typing import Any

from freqtrade.persistence.custom_data import CustomDataWrapper, _CustomData
from freqtrade.util import dt_now

__all__ = ["delete_on_all", "set_on_all"]


def set_on_all(trades: list[Any], key: str, value: str) -> None:
    """``trade.set_custom_data(key, value)`` for every trade in ``trades``, committed once."""
    _need_db()
    ids = [trade.id for trade in trades]
    session = _CustomData.session
    _delete(session, ids, key)  # freqtrade keeps one row per trade and key (a unique constraint)
    now = dt_now()
    session.add_all([_CustomData(ft_trade_id=trade_id, cd_key=key, cd_type="str", cd_value=value, created_at=now)
                     for trade_id in ids])
    session.commit()


def delete_on_all(trades: list[Any], key: str) -> None:
    """Remove ``key`` from every trade in ``trades``, committed once."""
    if not trades:
        return
    _need_db()
    session = _CustomData.session
    _delete(session, [trade.id for trade in trades], key)
    session.commit()


def _delete(session: Any, ids: list[int], key: str) -> None:
    """The rows of ``key`` on the trades ``ids``, uncommitted; freqtrade matches keys without case (ilike)."""
    session.query(_CustomData).filter(_CustomData.ft_trade_id.in_(ids), _CustomData.cd_key.ilike(key)).delete(
        synchronize_session=False)


def _need_db() -> None:
    if not CustomDataWrapper.use_db:
        raise RuntimeError("a flatten's intent needs freqtrade's database: flatten from a live bot, not a backtest")
