"""Results where people read them, away from the server: one self-contained HTML file and a
Markdown summary for a pull-request comment.

A report is built in two steps. :func:`evaluation_data` / :func:`comparison_data` gather what
a report shows from a results object (or a comparison's JSON answer) into one JSON-safe dict;
:func:`render_html` and :func:`render_markdown` turn that dict into text, with no other input.
The HTML carries the dict itself (``<script type="application/json" id="assay-data">``), its
styles and its one small script inline: it opens from a file, offline, with no server.

>>> from assay.evaluation.classification import ClassificationResults
>>> r = ClassificationResults([0, 1, 1], [[.9, .1], [.2, .8], [.6, .4]], ["cat", "dog"])
>>> data = evaluation_data(r, name="demo")
>>> render_html(data).startswith("<!DOCTYPE html>")
True
>>> "| Accuracy |" in render_markdown(data)
True
"""

from assay.reports.data import (
    comparison_data,
    conventions,
    evaluation_data,
    thumbnail_uri,
)
from assay.reports.html import render_html
from assay.reports.markdown import render_markdown

__all__ = [
    "comparison_data",
    "conventions",
    "evaluation_data",
    "render_html",
    "render_markdown",
    "thumbnail_uri",
]
