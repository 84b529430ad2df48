/**
 * The browser app (web/, built by `npm run build` into web/dist) served by every client-facing process: its hashed
 * assets under `/assets/` (cached for a year, gzip when the browser accepts it), and `index.html` for every page of the
 * app, so a reload or a shared link of `/samples/<id>` opens that page. Files are read once at start. Without a build,
 * `/` says how to make one and where the API is.
 */
import { HttpLayerRouter, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, Layer } from "effect"
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs"
import { extname, join, relative, sep } from "node:path"
import { fileURLToPath } from "node:url"
import { gzipSync } from "node:zlib"

/** Where `vite build` writes (web/vite.config.ts); WEB_DIST names another build (a test's own, an image's). */
export const WEB_DIST = process.env.WEB_DIST ?? fileURLToPath(new URL("../web/dist", import.meta.url))

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".ico": "image/x-icon",
  ".json": "application/json",
  ".map": "application/json",
  ".woff2": "font/woff2",
  ".txt": "text/plain; charset=utf-8"
}

interface Asset {
  readonly body: Uint8Array
  readonly gzip: Uint8Array | undefined
  readonly type: string
}

const load = (file: string): Asset => {
  const body = readFileSync(file)
  const type = TYPES[extname(file)] ?? "application/octet-stream"
  const compressible = /^(text\/|application\/json|image\/svg)/.test(type) && body.length > 1024 && !file.endsWith(".map")
  return { body, gzip: compressible ? gzipSync(body, { level: 9 }) : undefined, type }
}

const walk = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? walk(path) : [path]
  })

/** The app's pages: what the browser's address bar may show (web/src/routes.ts has the same list). */
export const APP_PAGES = [
  "/",
  "/signin",
  "/dashboard",
  "/board",
  "/queues/:step",
  "/samples",
  "/samples/:id",
  "/submissions",
  "/submissions/new",
  "/submissions/:id",
  "/extractions/new",
  "/extractions/:id",
  "/exports",
  "/notifications",
  "/admin/notifications",
  "/admin/users",
  "/admin/keys",
  "/admin/settings"
] as const

// The app talks only to its own origin; charts set inline styles.
const SECURITY_HEADERS = {
  "content-security-policy":
    "default-src 'self'; connect-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
  "x-content-type-options": "nosniff",
  "referrer-policy": "same-origin"
}

const send = (asset: Asset, cacheControl: string) =>
  Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
    const gzip = asset.gzip !== undefined && /\bgzip\b/.test(request.headers["accept-encoding"] ?? "")
    return HttpServerResponse.uint8Array(gzip ? asset.gzip! : asset.body, {
      contentType: asset.type,
      headers: {
        "cache-control": cacheControl,
        vary: "accept-encoding",
        ...(gzip ? { "content-encoding": "gzip" } : {}),
        ...(asset.type.startsWith("text/html") ? SECURITY_HEADERS : {})
      }
    })
  })

const NOT_BUILT = HttpServerResponse.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>poretrack</title></head>
<body style="font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto">
<h1>poretrack</h1>
<p>The web app has not been built in this checkout: run <code>npm run build</code> (<code>npm start</code> does it
for you) and reload.</p>
<p>The API works meanwhile: <a href="/api/docs">API reference</a>, typed RPC at <code>/rpc</code>.</p>
</body></html>`)

/** The routes of the built app (or of the "not built" page). */
export const WebAppLive = Layer.unwrapEffect(Effect.sync(() => {
  const index = join(WEB_DIST, "index.html")
  if (!existsSync(index)) {
    return HttpLayerRouter.addAll(APP_PAGES.map((page) => HttpLayerRouter.route("GET", page, Effect.succeed(NOT_BUILT))))
  }
  const html = load(index)
  const assets = new Map(walk(WEB_DIST)
    .filter((file) => file !== index)
    .map((file) => [`/${relative(WEB_DIST, file).split(sep).join("/")}` as const, load(file)] as const))
  const page = send(html, "no-cache")
  const notFound = HttpServerResponse.text("not found", { status: 404 })
  return HttpLayerRouter.addAll([
    ...APP_PAGES.map((path) => HttpLayerRouter.route("GET", path, page)),
    HttpLayerRouter.route("GET", "/assets/*", Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      const asset = assets.get(request.url.split("?")[0] as `/${string}`)
      return asset === undefined ? Effect.succeed(notFound) : send(asset, "public, max-age=31536000, immutable")
    })),
    ...[...assets.entries()].filter(([path]) => !path.startsWith("/assets/")).map(([path, asset]) =>
      HttpLayerRouter.route("GET", path, send(asset, "public, max-age=3600")))
  ])
}))
