import { defineConfig } from "vitest/config"
import { BaseSequencer, type TestSpecification } from "vitest/node"

/**
 * The longest test files (minutes each on a 2-core machine, mostly waiting on processes, fault recoveries and the
 * browser), longest first: started last, one of them would run alone at the end of the suite with the other worker
 * idle. Vitest orders by the durations it has cached, which a fresh clone (CI) does not have.
 */
const LONGEST_FIRST = [
  "test/Faults.test.ts",
  "test/browser/Workflow.test.ts",
  "test/browser/ExportsNotifications.test.ts",
  "test/browser/Extraction.test.ts",
  "test/browser/Submissions.test.ts",
  "test/Fencing.test.ts",
  "test/Failover.test.ts",
  "test/ExportCrash.test.ts",
  "test/Auth.test.ts",
  "test/browser/Lists.test.ts",
  "test/browser/Admin.test.ts",
  "test/browser/Dashboard.test.ts"
]

class LongestFirst extends BaseSequencer {
  override async sort(files: Array<TestSpecification>): Promise<Array<TestSpecification>> {
    const sorted = await super.sort(files)
    const rank = (file: TestSpecification) => {
      const i = LONGEST_FIRST.findIndex((path) => file.moduleId.endsWith(`/${path}`))
      return i === -1 ? LONGEST_FIRST.length : i
    }
    return sorted.map((file, i) => ({ file, i })).sort((a, b) => rank(a.file) - rank(b.file) || a.i - b.i).map(({ file }) => file)
  }
}

// One embedded or shared PostgreSQL server for the run (test/globalSetup.ts); each test file makes its own database.
export default defineConfig({
  test: {
    include: ["{actors,rpc,persistence,runtime,web,test}/**/*.test.ts"],
    globalSetup: ["./test/globalSetup.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: true,
    maxWorkers: 2,
    sequence: { sequencer: LongestFirst }
  }
})
