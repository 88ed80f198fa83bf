"""Result objects render as tables in a notebook (``_repr_html_``) and as text (``str``)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from trial._results import Displayable


def test_html_shows_the_frame_as_a_table_and_the_summary():
    from trial.estimate import difference_in_means

    rng = np.random.default_rng(1)
    data = pd.DataFrame({"z": np.repeat([0, 1], 20), "y": rng.normal(size=40)})
    res = difference_in_means(data, outcome="y", treatment="z")
    html = res._repr_html_()
    assert "<table" in html and "std_error" in html
    assert str(res) == res.summary()
    import html as _html

    assert _html.escape(str(res).splitlines()[0]) in html


def test_text_only_result_falls_back_to_pre():
    class Plain(Displayable):
        def summary(self):
            return "a < b"

    assert Plain()._repr_html_() == "<pre>a &lt; b</pre>"
    assert str(Plain()) == "a < b"
