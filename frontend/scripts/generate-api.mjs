// Generates src/api/schema.d.ts from openapi.json. The Makefile writes openapi.json first
// (`python -m assay.server.openapi frontend/openapi.json`); when it is missing, this script
// asks the Python package for it, so `npm run build` also works on its own in a checkout.
import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const schema = resolve(here, "openapi.json");
if (!existsSync(schema)) {
  const venv = resolve(here, "..", ".venv", "bin", "python");
  const python = process.env.PYTHON ?? (existsSync(venv) ? venv : "python3");
  console.log(`openapi.json missing: writing it with ${python} -m assay.server.openapi`);
  try {
    execFileSync(python, ["-m", "assay.server.openapi", schema], { stdio: "inherit", cwd: resolve(here, "..") });
  } catch {
    console.error(
      "Could not write frontend/openapi.json. Install the Python package (make setup) and run\n" +
        "  python -m assay.server.openapi frontend/openapi.json",
    );
    process.exit(1);
  }
}
execFileSync(process.execPath, [resolve(here, "node_modules", "openapi-typescript", "bin", "cli.js"), schema, "-o", resolve(here, "src", "api", "schema.d.ts")], {
  stdio: "inherit",
});
