import { defineConfig } from "vitest/config"

// One embedded or shared PostgreSQL server for the run (test/globalSetup.ts); each test file makes its own database.
export default defineConfig({
  test: {
    include: ["{actors,rpc,persistence,runtime,web,test}/**/*.test.ts"],
    globalSetup: ["./test/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2
  }
})
