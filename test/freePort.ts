/**
 * A TCP port that was free a moment ago. Picked at random below the kernel's ephemeral range, so outgoing
 * connections of concurrently running tests cannot take it between the check and its use; never the same port twice
 * in one process, since a port handed out may not be bound yet (a runner port and an HTTP port picked together).
 */
import { createServer } from "node:net"

const tryPort = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once("error", () => resolve(false))
    server.listen(port, "0.0.0.0", () => server.close(() => resolve(true)))
  })

const handedOut = new Set<number>()

export const freePort = async (): Promise<number> => {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000)
    if (handedOut.has(port)) continue
    handedOut.add(port)
    if (await tryPort(port)) return port
  }
  throw new Error("no free port found in 20000-32000")
}
