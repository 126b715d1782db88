"""The core: everything that closes positions at BingX, with no front end.

The close path (``closeall``: one closeAllPositions, its plans and drivers; ``flatten``: close, cancel, verify;
``protection``: which orders are cancelled and which kept), what BingX's answers mean (``errors``), symbols
(``symbols``), BingX's endpoints and their rate limits (``methods``, ``limits``, ``urls``), secret masking
(``redaction``) and the ccxt classes (``exchange``, ``async_exchange``).

Nothing here imports the front ends (``cli``, ``guard``, ``freqtrade``) or the simulator; the package's
``__init__`` re-exports the public API.
"""
