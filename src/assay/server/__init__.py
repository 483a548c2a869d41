"""The web server: the REST API under ``/api`` and the built UI (``create_app`` in ``app.py``).

>>> from assay.server.app import create_app  # doctest: +SKIP
>>> app = create_app()  # doctest: +SKIP
"""
