/** `npm start`: the whole system in one process. */
import { launch } from "./Launch.ts"

launch("all")
