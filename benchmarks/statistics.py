"""Statistical audit by simulation (issue 18, item 8): type I error, power and coverage of every
row Assay reports, with Monte-Carlo errors. The work is in statistical_audit.py (see its
docstring); this file runs it:

    nice -n 10 .venv/bin/python benchmarks/statistics.py --quick
    nice -n 10 .venv/bin/python benchmarks/statistics.py --only paired --scale 2

A script in this folder runs with the folder first on sys.path, so its ``import statistics``
(and numpy's, and assay's ``from statistics import NormalDist``) finds this file: imported
under that name, it hands over the standard library's module instead, so the other benchmarks
keep working.
"""

from __future__ import annotations

import sys

if __name__ == "__main__":
    from statistical_audit import main

    raise SystemExit(main())
else:  # imported as `statistics`: become the standard library's module
    import importlib.util
    import sysconfig
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location(
        __name__, Path(sysconfig.get_path("stdlib")) / "statistics.py"
    )
    assert _spec is not None and _spec.loader is not None
    _std = importlib.util.module_from_spec(_spec)
    sys.modules[__name__] = _std
    _spec.loader.exec_module(_std)
