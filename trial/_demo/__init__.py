"""Steps of ``trial demo``: modules ``step_NN_name.py``, run in name order.

Each step module defines ``TITLE`` and ``run(ctx)``; ``ctx`` is a
:class:`types.SimpleNamespace` with ``out`` (output folder, a Path),
``protocol`` (the loaded Protocol), ``protocol_path``, ``seed``, ``n_referrals``
and ``echo(text)`` for printing. Steps add what later steps need to ``ctx``
(for example ``ctx.exports`` or ``ctx.register``).
"""
