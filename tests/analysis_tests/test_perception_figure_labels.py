"""Figure 6 keeps every axis label, title and tick label inside the figure (its x-labels were cut off)."""

import pandas as pd

from analysis.core.perception.data import GROUPS, QuestionSpec
from analysis.core.perception.figures import fig6_perception

QUESTIONS = [
    QuestionSpec("agree_label", "Do you agree with the label?", "yes_no", 2),
    QuestionSpec("quality", "Image quality", "likert", 5),
    QuestionSpec("difficulty", "Diagnosis difficulty", "likert", 5),
]


def test_figure_6_draws_every_label_inside_the_figure():
    rows = [{"question": q.key, "group": g, "mean": 2.0, "sd": 0.5, "n": 120} for q in QUESTIONS for g in GROUPS]
    fig = fig6_perception(pd.DataFrame(rows), QUESTIONS)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    texts = [t for ax in fig.axes for t in (ax.xaxis.label, ax.yaxis.label, ax.title, *ax.get_yticklabels())]
    texts = [t for t in texts if t.get_text()]
    assert len(texts) >= 3 * 3
    for text in texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= -0.5 and box.y0 >= -0.5, text.get_text()
        assert box.x1 <= width + 0.5 and box.y1 <= height + 0.5, (text.get_text(), box, width, height)
