/** `poretrack [start|runner|gateway]`: the same code in any role. */
import { launch } from "./Launch.ts"

const role = process.argv[2] ?? "start"
if (role === "start" || role === "all") launch("all")
else if (role === "runner" || role === "gateway") launch(role)
else {
  console.error(`usage: poretrack [start|runner|gateway]  (got "${role}")`)
  process.exit(2)
}
