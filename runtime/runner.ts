/** `npm run runner`: a shard node (needs DATABASE_URL shared with the other runners and gateways). */
import { launch } from "./Launch.ts"

launch("runner")
