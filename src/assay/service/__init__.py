"""The service layer: what the CLI, the server and the demo do with the store, written once.

Between ``store`` (persistence: the catalog, artifacts, the results files) and its three callers
(``server``, ``cli``, ``demo``): running a model over a dataset and storing its evaluation
(:mod:`assay.service.runs`). Layers point down only (tests/test_layers.py): the service may
import ``store``, ``evaluation``, ``runners``, ``formats`` and ``metrics``; never ``server`` or
``cli``.
"""
