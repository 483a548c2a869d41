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
    rollupOptions: {
      output: {
        // Charts and React change less often than the app: separate files cache better.
        manualChunks: (id: string) =>
          id.includes("node_modules/echarts") || id.includes("node_modules/zrender")
            ? "echarts"
            : id.includes("node_modules/react") || id.includes("node_modules/scheduler")
              ? "react"
              : undefined,
      },
    },
  },
  server: {
    proxy: { "/api": process.env.ASSAY_API ?? "http://127.0.0.1:8765" },
  },
});
