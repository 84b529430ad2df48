/** Builds the browser app into web/dist, which every gateway process serves at `/`. */
import react from "@vitejs/plugin-react"
import { defineConfig } from "vite"

export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: "es2022",
    sourcemap: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      output: {
        // The charts are only on the dashboard: their library loads with it, not with sign-in. React has a chunk of its
        // own: otherwise Rollup moves it into "charts" (recharts imports it) and the entry would load the charts.
        manualChunks: (id) =>
          /node_modules\/(react|react-dom|scheduler)\//.test(id)
            ? "react"
            : id.includes("node_modules/recharts") || id.includes("node_modules/d3-") || id.includes("victory-vendor")
            ? "charts"
            : undefined
      }
    }
  },
  server: {
    // `npm run dev:web` beside `npm start`: the API and RPC are the running server's.
    proxy: { "/api": "http://127.0.0.1:3000", "/rpc": { target: "http://127.0.0.1:3000", ws: true }, "/setup": "http://127.0.0.1:3000" }
  }
})
