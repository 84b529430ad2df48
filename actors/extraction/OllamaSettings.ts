/** Where the LLM stage finds Ollama and how long it waits: read from OLLAMA_HOST / OLLAMA_MODEL in runtime/Config.ts. */
import { Duration } from "effect"

/** The LLM stage's settings; `embedModel` null means retrieval stays lexical (BM25) even when Ollama answers. */
export interface OllamaSettings {
  readonly host: string
  readonly model: string
  readonly embedModel: string | null
  /** One chat call's limit; a slow model gives up here and the rules' values stand. */
  readonly timeout: Duration.Duration
  /** Further attempts after a failed or undecodable answer. */
  readonly retries: number
  /** How long the reachability probe waits before the stage is skipped. */
  readonly probeTimeout: Duration.Duration
}

/** A laptop's defaults: Ollama's own port, a small instruction model, 60 s per call, 2 retries. */
export const OLLAMA_DEFAULTS: OllamaSettings = {
  host: "http://127.0.0.1:11434",
  model: "llama3.2:3b",
  embedModel: null,
  timeout: Duration.seconds(60),
  retries: 2,
  probeTimeout: Duration.seconds(2)
}
