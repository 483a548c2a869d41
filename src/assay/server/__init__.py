"""The web server: the REST API under ``/api`` and the built UI (``create_app`` in ``app.py``).

Safe to expose (everything is a parameter of ``create_app``; ``config.access_for`` is what
``assay serve`` calls):

- access (``access.py``): a token whenever the server listens beyond loopback, as
  ``Authorization: Bearer`` or, for ``<img>`` URLs, an HttpOnly SameSite=Strict session cookie
  (GET / HEAD only) from ``POST /api/session``; the Host header checked against the served names
  (no DNS rebinding); no CORS header unless origins are configured; bodies and query strings
  bounded (413 / 414);
- files named by requests (``paths.py``): only under the workspace and the data roots, links
  followed first, regular files and folders only, bounded in size; the same answer for a path
  outside whether it exists or not;
- jobs (``jobs.py``): each in its own process, a bounded pool and queue (429), cancellable
  (``DELETE /api/jobs/{id}``), time-limited, stopped with the server;
- media (``routers/samples.py``): the real path re-checked inside the dataset's folder;
  thumbnails of non-images, truncated images and decompression bombs are 422;
- errors: one-line JSON 4xx; ids beyond 2^63 and offsets beyond 2^53 are 422; anything
  unexpected a JSON 500 without a traceback;
- memory: every cache keyed by a request value is a bounded LRU (``caches.py``).

>>> from assay.server.app import create_app  # doctest: +SKIP
>>> app = create_app(host="0.0.0.0", token="...", data_roots=[Path("/data")])  # doctest: +SKIP
"""
