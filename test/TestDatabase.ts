/** A fresh, empty database for one test file, on the run's PostgreSQL server. */
import pg from "pg"
import { randomUUID } from "node:crypto"
import { inject } from "vitest"

/** Creates a new database and returns its URL. */
export const createTestDatabase = async (): Promise<string> => {
  const admin = inject("pgAdminUrl")
  const name = `poretrack_test_${randomUUID().replace(/-/g, "").slice(0, 16)}`
  const client = new pg.Client({ connectionString: admin })
  await client.connect()
  try {
    await client.query(`CREATE DATABASE ${name}`)
  } finally {
    await client.end()
  }
  const url = new URL(admin)
  url.pathname = `/${name}`
  return url.toString()
}

/** Runs one query against `url` with a short-lived connection (for assertions on what was written). */
export const query = async <R extends Record<string, unknown>>(url: string, text: string, values: Array<unknown> = []): Promise<Array<R>> => {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    const result = await client.query<R>(text, values)
    return result.rows
  } finally {
    await client.end()
  }
}
