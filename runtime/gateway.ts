/** `npm run gateway`: a stateless gateway (needs DATABASE_URL shared with the runners). */
import { launch } from "./Launch.ts"

launch("gateway")
