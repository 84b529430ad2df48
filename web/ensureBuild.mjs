// `npm start` (and `npm run gateway`) run this first: it builds the web app when web/dist is missing or older than
// its sources, so a fresh checkout serves the app at http://localhost:3000/ with no extra step.
import { spawnSync } from "node:child_process"
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"

const root = fileURLToPath(new URL("..", import.meta.url))
const built = join(root, "web", "dist", "index.html")

const newest = (path) => {
  const s = statSync(path)
  if (!s.isDirectory()) return s.mtimeMs
  return Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name))))
}

const sources = ["web/src", "web/public", "web/index.html", "web/vite.config.ts", "rpc", "package-lock.json"]
  .map((p) => join(root, p))
  .filter(existsSync)

if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources.map(newest))) process.exit(0)
if (!existsSync(join(root, "node_modules", "vite"))) {
  console.error("the web app is not built and vite is not installed (npm install --omit=dev?): the API runs, / says how to build")
  process.exit(0)
}
console.log("building the web app (web/dist)…")
const result = spawnSync(process.execPath, [join(root, "node_modules", "vite", "bin", "vite.js"), "build", "--config", "web/vite.config.ts", "--logLevel", "warn"], { cwd: root, stdio: "inherit" })
process.exit(result.status ?? 1)
