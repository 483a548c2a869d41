"""``python -m assay`` runs the ``assay`` command (as ``python -m assay.cli`` and the ``assay``
script do)."""

from assay.cli.main import app

app(prog_name="assay")
