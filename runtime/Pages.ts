/**
 * The one page the server itself serves beside the web app: the one-time setup page that the first start prints a link
 * to (it creates the first admin through `POST /api/v1/setup`), then sends the new admin to sign in.
 */
import { HttpLayerRouter, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

const page = (title: string, body: string) =>
  HttpServerResponse.html(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · poretrack</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem; color: #1d2733; }
  h1 { font-size: 1.6rem; } label { display: block; margin-top: 1rem; font-weight: 600; }
  input { display: block; width: 100%; padding: .5rem; font: inherit; box-sizing: border-box; }
  button { margin-top: 1.5rem; padding: .6rem 1.2rem; font: inherit; background: #1f5fa8; color: white; border: 0; border-radius: 4px; }
  .error { color: #a8201f; } .ok { color: #1d6b32; } code { background: #eef1f5; padding: 0 .2rem; }
</style>
</head>
<body>
${body}
</body>
</html>`)

const SETUP = page("First admin", `<h1>Create the first admin</h1>
<p>This page works once, with the link printed by the server at its first start.</p>
<form id="setup">
  <label for="email">E-mail</label><input id="email" name="email" type="email" autocomplete="username" required>
  <label for="name">Name</label><input id="name" name="name" autocomplete="name" required>
  <label for="password">Password (at least 10 characters)</label>
  <input id="password" name="password" type="password" minlength="10" autocomplete="new-password" required>
  <button type="submit">Create admin</button>
</form>
<p id="result" role="status" aria-live="polite"></p>
<script>
  const token = new URLSearchParams(location.search).get("token") ?? ""
  const result = document.getElementById("result")
  document.getElementById("setup").addEventListener("submit", async (event) => {
    event.preventDefault()
    const form = new FormData(event.target)
    const body = { token, email: form.get("email"), name: form.get("name"), password: form.get("password") }
    const res = await fetch("/api/v1/setup", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) })
    const answer = await res.json().catch(() => ({}))
    if (res.ok) {
      result.className = "ok"
      result.textContent = "Admin " + answer.email + " created. "
      const link = document.createElement("a")
      link.href = "/signin"
      link.textContent = "Sign in"
      result.append(link)
    } else {
      result.className = "error"
      const issues = (answer.issues ?? []).map((i) => i.path + ": " + i.message).join("; ")
      result.textContent = (answer.message ?? "setup failed") + (issues ? " (" + issues + ")" : "")
    }
  })
</script>`)

/** `/setup` (the web app serves `/` and its pages: runtime/WebApp.ts). */
export const PagesLive = HttpLayerRouter.add("GET", "/setup", Effect.succeed(SETUP))
