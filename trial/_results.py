"""Display of result objects, shared by every module.

Result classes are frozen dataclasses with ``summary()`` (plain text) and
usually ``to_frame()`` (a pandas DataFrame). :class:`Displayable` gives them
``__str__`` from ``summary()`` and a notebook ``_repr_html_`` that shows the
``to_frame()`` table under the summary's first line, with the full text
summary folded below it.
"""
from __future__ import annotations

import html

__all__ = ["Displayable"]


class Displayable:
    """Mixin: ``__str__`` and ``_repr_html_`` from ``summary()`` and ``to_frame()``."""

    __slots__ = ()

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        text = self.summary()
        title, _, _ = text.partition("\n")
        table = ""
        to_frame = getattr(self, "to_frame", None)
        if callable(to_frame):
            try:
                frame = to_frame()
            except Exception:  # a result that cannot tabulate itself still shows its text
                frame = None
            if frame is not None and len(frame.columns):
                table = frame.to_html(border=0, float_format=lambda x: f"{x:.4g}", na_rep="–",
                                      max_rows=60, classes="trial-result")
        if not table:
            return f"<pre>{html.escape(text)}</pre>"
        return (f"<div><p><strong>{html.escape(title)}</strong></p>{table}"
                f"<details><summary>summary</summary><pre>{html.escape(text)}</pre></details></div>")
