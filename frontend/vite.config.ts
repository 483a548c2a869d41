import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The build lands inside the Python package; the server mounts it with an index.html fallback.
export default defineConfig({
  plugins: [react()],
  base: "/",
  build: {
    outDir: "../src/assay/server/static",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
  },
  server: {
    proxy: { "/api": process.env.ASSAY_API ?? "http://127.0.0.1:8765" },
  },
});
