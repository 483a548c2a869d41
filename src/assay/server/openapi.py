"""Write the OpenAPI schema without starting a server: ``python -m assay.server.openapi OUT.json``.

The frontend generates its typed client from this file.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any


def openapi_schema() -> dict[str, Any]:
    """The OpenAPI document of the app (built on a throwaway workspace)."""
    from assay.server.app import create_app

    logging.getLogger("assay.server").setLevel(logging.ERROR)  # no "UI missing" warning here
    with tempfile.TemporaryDirectory(prefix="assay-openapi-") as home:
        app = create_app(Path(home))
        schema: dict[str, Any] = app.openapi()
        app.state.workspace.close()
    return schema


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m assay.server.openapi OUT.json", file=sys.stderr)
        return 2
    out = Path(args[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(openapi_schema(), indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
