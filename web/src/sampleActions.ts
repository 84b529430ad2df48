/** Sending a command to one sample from the app: one idempotency key per user action, the version the user saw. */
import { useAtomSet } from "@effect-atom/atom-react"
import { Exit } from "effect"
import { useState } from "react"
import type { CommandResult, SampleCommand } from "../../rpc/Commands.ts"
import type { SampleId } from "../../rpc/Ids.ts"
import { Rpc } from "./client.ts"
import { describe, type Problem } from "./errors.ts"
import { newKey } from "./components/ui.tsx"

const executeAtom = Rpc.mutation("Samples.Execute")

/** `run(command)` sends it and resolves to the result or the problem in words; `busy` while it is on its way. */
export const useSampleCommand = (id: SampleId, version: number | undefined) => {
  const execute = useAtomSet(executeAtom, { mode: "promiseExit" })
  const [busy, setBusy] = useState(false)
  const [problem, setProblem] = useState<Problem | undefined>()
  const run = async (command: SampleCommand): Promise<CommandResult | undefined> => {
    setBusy(true)
    setProblem(undefined)
    const exit = await execute({
      payload: { id, command, idempotencyKey: newKey(command._tag), ...(version !== undefined ? { expectedVersion: version } : {}) },
      reactivityKeys: ["samples", "queues", "dashboard", `sample:${id}`]
    })
    setBusy(false)
    if (Exit.isSuccess(exit)) return exit.value
    setProblem(describe(exit.cause))
    return undefined
  }
  return { run, busy, problem, clear: () => setProblem(undefined) }
}
