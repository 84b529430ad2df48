/** `poretrack [start|runner|gateway]`: the same code in any role; `poretrack admin …`: account work from a shell. */
const [command = "start", ...args] = process.argv.slice(2)
if (command === "admin") {
  const { adminCommand } = await import("./adminCommand.ts")
  process.exit(await adminCommand(args))
} else if (command === "extract") {
  const { extractCommand } = await import("./extractCommand.ts")
  process.exit(await extractCommand(args))
} else if (command === "start" || command === "all" || command === "runner" || command === "gateway") {
  const { launch } = await import("./Launch.ts")
  launch(command === "start" ? "all" : command)
} else {
  console.error(`usage: poretrack [start|runner|gateway] | poretrack admin create --email E  (got "${command}")`)
  process.exit(2)
}
