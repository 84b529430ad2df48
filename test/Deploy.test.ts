/**
 * The deployment files (Dockerfile, docker-compose.yml, deploy/) agree with the code: they parse, every poretrack
 * process is started through an npm script that exists, probes ask for paths the server answers, settings are ones
 * runtime/Config.ts reads, and the Kubernetes objects refer to each other correctly. No Docker or cluster needed.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"
import { parseAllDocuments } from "yaml"

const ROOT = fileURLToPath(new URL("..", import.meta.url))
const read = (path: string) => readFileSync(join(ROOT, path), "utf8")

type Obj = { readonly [key: string]: unknown }
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v)
const obj = (v: unknown, what: string): Obj => {
  if (!isObj(v)) throw new Error(`${what}: expected a mapping, got ${JSON.stringify(v)}`)
  return v
}
const list = (v: unknown, what: string): ReadonlyArray<unknown> => {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`)
  return v
}
const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`)
  return v
}
/** `v.a.b…`, or undefined where a step is missing. */
const at = (v: unknown, ...path: ReadonlyArray<string>): unknown =>
  path.reduce<unknown>((o, key) => (isObj(o) ? o[key] : undefined), v)
const optList = (v: unknown, what: string): ReadonlyArray<unknown> => (v === undefined ? [] : list(v, what))
const stringMap = (v: unknown, what: string): Record<string, string> =>
  Object.fromEntries(Object.entries(obj(v, what)).map(([k, x]) => [k, typeof x === "number" || typeof x === "boolean" ? String(x) : str(x, `${what}.${k}`)]))

/** Every document of a YAML file (merge keys resolved, as docker compose does); throws on any parse error. */
const parseYaml = (path: string): ReadonlyArray<unknown> =>
  parseAllDocuments(read(path), { merge: true }).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${path}: ${doc.errors.map((e) => e.message).join("; ")}`)
    return doc.toJS()
  })

const filesUnder = (dir: string): ReadonlyArray<string> =>
  readdirSync(join(ROOT, dir)).flatMap((name) => {
    const path = join(dir, name)
    return statSync(join(ROOT, path)).isDirectory() ? filesUnder(path) : [path]
  })

const scripts = obj(at(JSON.parse(read("package.json")), "scripts"), "package.json scripts")

/** The npm script an argv runs (`npm start`, `npm run X`), or undefined when it is not an npm script. */
const npmScriptOf = (argv: ReadonlyArray<string>): string | undefined => {
  if (argv[0] !== "npm") return undefined
  if (argv.length === 2 && (argv[1] === "start" || argv[1] === "test")) return argv[1]
  if (argv.length === 3 && (argv[1] === "run" || argv[1] === "run-script")) return argv[2]
  return undefined
}
const expectNpmScript = (argv: ReadonlyArray<string>, where: string) => {
  const script = npmScriptOf(argv)
  expect(script, `${where}: "${argv.join(" ")}" is not "npm start" or "npm run <script>"`).toBeDefined()
  expect(Object.keys(scripts), `${where}: npm script "${script}"`).toContain(script)
  return script
}
const argvOf = (v: unknown, what: string): ReadonlyArray<string> =>
  typeof v === "string" ? v.trim().split(/\s+/) : list(v, what).map((x, i) => str(x, `${what}[${i}]`))

/** What every role's HTTP server answers besides the API; each must still be a route in runtime/HttpServer.ts. */
const SERVED_PATHS = ["/health/live", "/health/ready", "/metrics"]

/** Environment variables poretrack reads (runtime/Config.ts), plus the OpenTelemetry and Node ones it passes on. */
const SETTINGS = new Set([...read("runtime/Config.ts").matchAll(/\("([A-Z][A-Z0-9_]+)"\)/g)].map((m) => m[1]!))
const isKnownSetting = (name: string) => SETTINGS.has(name) || name.startsWith("OTEL_") || name.startsWith("NODE_")

const env = (v: unknown, what: string): Record<string, string> =>
  Array.isArray(v)
    ? Object.fromEntries(v.map((e, i) => {
      const [k, ...rest] = str(e, `${what}[${i}]`).split("=")
      return [k!, rest.join("=")]
    }))
    : v === undefined ? {} : stringMap(v, what)

describe("deployment files", () => {
  it("every YAML and JSON file under deploy/ and docker-compose.yml parses", () => {
    const files = ["docker-compose.yml", ...filesUnder("deploy")]
    expect(files.length).toBeGreaterThan(5)
    for (const file of files) {
      expect(/\.(ya?ml|json)$/.test(file), `${file}: only YAML and JSON belong under deploy/`).toBe(true)
      const docs = parseYaml(file)
      expect(docs.length, file).toBeGreaterThan(0)
      for (const doc of docs) expect(isObj(doc), `${file}: every document is a mapping`).toBe(true)
      if (file.endsWith(".json")) expect(() => JSON.parse(read(file)), file).not.toThrow()
    }
  })

  it("the served paths are routes of the HTTP server and the settings list is read from Config.ts", () => {
    const server = read("runtime/HttpServer.ts")
    for (const path of SERVED_PATHS) expect(server, path).toContain(`"${path}"`)
    for (const name of ["DATABASE_URL", "PORT", "RUNNER_HOST", "RUNNER_PORT", "LOG_FORMAT", "SHARD_LOCK_EXPIRATION"]) {
      expect(SETTINGS.has(name), name).toBe(true)
    }
  })

  it("the Dockerfile's CMD is an npm script", () => {
    const cmds = read("Dockerfile").split("\n").filter((line) => /^CMD\s/.test(line))
    expect(cmds.length).toBeGreaterThan(0)
    const cmd = cmds[cmds.length - 1]!.replace(/^CMD\s+/, "").trim()
    const argv = cmd.startsWith("[") ? argvOf(JSON.parse(cmd), "CMD") : argvOf(cmd, "CMD")
    expect(expectNpmScript(argv, "Dockerfile CMD")).toBe("start")
  })
})

describe("docker-compose.yml", () => {
  const compose = obj(parseYaml("docker-compose.yml")[0], "docker-compose.yml")
  const services = obj(compose.services, "services")
  const isPoretrack = (s: Obj) => s.build !== undefined || (typeof s.image === "string" && s.image.startsWith("poretrack"))
  const poretrack = Object.entries(services).map(([name, s]) => [name, obj(s, name)] as const).filter(([, s]) => isPoretrack(s))
  const roleOf = (s: Obj, name: string) => npmScriptOf(argvOf(s.command, `${name}.command`))

  it("runs the whole stack", () => {
    for (const name of ["postgres", "gateway", "minio", "mailpit", "ollama", "otel-collector", "prometheus", "grafana"]) {
      expect(Object.keys(services), name).toContain(name)
    }
  })

  it("starts every poretrack service through an existing npm script: two or more runners and a gateway", () => {
    expect(poretrack.length).toBeGreaterThanOrEqual(3)
    for (const [name, s] of poretrack) {
      expect(s.command, `${name} has a command`).toBeDefined()
      expectNpmScript(argvOf(s.command, `${name}.command`), `service ${name}`)
    }
    expect(poretrack.filter(([name, s]) => roleOf(s, name) === "runner").length).toBeGreaterThanOrEqual(2)
    expect(poretrack.filter(([name, s]) => roleOf(s, name) === "gateway").length).toBeGreaterThanOrEqual(1)
  })

  it("gives runners distinct addresses (their service names) and every process the same database and settings", () => {
    const urls = new Set<string>()
    const runnerHosts: Array<string> = []
    for (const [name, s] of poretrack) {
      const e = env(s.environment, `${name}.environment`)
      for (const key of Object.keys(e)) expect(isKnownSetting(key), `${name}: ${key} is not a poretrack setting`).toBe(true)
      urls.add(str(e.DATABASE_URL, `${name} DATABASE_URL`))
      expect(e.LOG_FORMAT, name).toBe("json")
      const otel = new URL(str(e.OTEL_EXPORTER_OTLP_ENDPOINT, `${name} OTEL_EXPORTER_OTLP_ENDPOINT`))
      expect(Object.keys(services), `${name}: the OTLP endpoint is a compose service`).toContain(otel.hostname)
      if (roleOf(s, name) === "runner") {
        expect(e.RUNNER_HOST, `${name} RUNNER_HOST`).toBe(name)
        runnerHosts.push(name)
      }
    }
    expect(urls.size).toBe(1)
    expect(new Set(runnerHosts).size).toBe(runnerHosts.length)
    const db = new URL([...urls][0]!)
    expect(Object.keys(services), "DATABASE_URL points at a compose service").toContain(db.hostname)
  })

  it("mounts only files that exist", () => {
    for (const [name, raw] of Object.entries(services)) {
      for (const volume of optList(at(raw, "volumes"), `${name}.volumes`)) {
        const source = typeof volume === "string" ? volume.split(":")[0]! : str(at(volume, "source"), `${name} volume`)
        if (source.startsWith("./")) expect(() => statSync(join(ROOT, source)), `${name} mounts ${source}`).not.toThrow()
      }
    }
  })

  it("has Prometheus scrape /metrics of every poretrack process", () => {
    const prometheus = obj(parseYaml("deploy/prometheus/prometheus.yml")[0], "prometheus.yml")
    const jobs = list(prometheus.scrape_configs, "scrape_configs").map((j) => obj(j, "scrape job"))
    const targets = jobs
      .filter((j) => (j.metrics_path ?? "/metrics") === "/metrics")
      .flatMap((j) => optList(j.static_configs, "static_configs").flatMap((c) => list(at(c, "targets"), "targets")))
    for (const [name, s] of poretrack) {
      const port = env(s.environment, name).PORT ?? "3000"
      expect(targets, `${name} is scraped`).toContain(`${name}:${port}`)
    }
    for (const file of optList(prometheus.rule_files, "rule_files")) {
      const mounted = optList(at(services, "prometheus", "volumes"), "prometheus.volumes").some((v) => typeof v === "string" && v.endsWith(`:${str(file, "rule file")}:ro`))
      expect(mounted, `rule file ${String(file)} is mounted`).toBe(true)
    }
  })
})

describe("deploy/k8s", () => {
  const files = filesUnder("deploy/k8s")
  const objects = files.flatMap((file) => parseYaml(file).map((doc) => ({ file, o: obj(doc, file) })))
  const ofKind = (...kinds: ReadonlyArray<string>) => objects.filter(({ o }) => kinds.includes(str(o.kind, "kind")))
  const nameOf = (o: Obj) => str(at(o, "metadata", "name"), "metadata.name")
  const workloads = ofKind("Deployment", "StatefulSet")
  const configMaps = new Map(ofKind("ConfigMap").map(({ o }) => [nameOf(o), stringMap(o.data ?? {}, "ConfigMap data")]))
  const secrets = new Map(ofKind("Secret").map(({ o }) => [nameOf(o), { ...stringMap(o.stringData ?? {}, "stringData"), ...stringMap(o.data ?? {}, "data") }]))
  const podLabels = (o: Obj) => stringMap(at(o, "spec", "template", "metadata", "labels"), `${nameOf(o)} pod labels`)
  const selects = (selector: Record<string, string>, labels: Record<string, string>) =>
    Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v)
  const containersOf = (o: Obj) => list(at(o, "spec", "template", "spec", "containers"), `${nameOf(o)} containers`).map((c) => obj(c, "container"))
  const scriptOf = (c: Obj, what: string) => {
    const argv = [...optList(c.command, `${what}.command`), ...optList(c.args, `${what}.args`)].map((x) => str(x, what))
    return argv.length === 0 ? "start" : expectNpmScript(argv, what)
  }

  it("has well-formed objects in the poretrack namespace, all listed in the kustomization", () => {
    for (const { file, o } of objects) {
      expect(typeof o.apiVersion, `${file} apiVersion`).toBe("string")
      expect(typeof o.kind, `${file} kind`).toBe("string")
      if (o.kind === "Kustomization") continue
      expect(nameOf(o), file).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
      if (o.kind !== "Namespace") expect(at(o, "metadata", "namespace"), `${file} ${nameOf(o)}`).toBe("poretrack")
    }
    const kustomization = ofKind("Kustomization")
    expect(kustomization.length).toBe(1)
    const listed = list(at(kustomization[0]!.o, "resources"), "resources").map((r) => join("deploy/k8s", str(r, "resource")))
    expect(new Set(listed)).toEqual(new Set(files.filter((f) => !f.endsWith("kustomization.yaml"))))
    for (const kind of ["Namespace", "ConfigMap", "Secret", "Service", "Deployment", "HorizontalPodAutoscaler", "PodDisruptionBudget"]) {
      expect(ofKind(kind).length, kind).toBeGreaterThan(0)
    }
  })

  it("runs a runner workload and a gateway workload through existing npm scripts", () => {
    const roles = workloads.flatMap(({ o }) => containersOf(o).map((c) => scriptOf(c, `${nameOf(o)}/${String(c.name)}`)))
    expect(roles).toContain("runner")
    expect(roles).toContain("gateway")
  })

  it("probes only paths the server answers, on declared ports, with resources and a graceful stop", () => {
    for (const { file, o } of workloads) {
      const name = nameOf(o)
      expect(selects(stringMap(at(o, "spec", "selector", "matchLabels"), `${name} selector`), podLabels(o)), `${name} selector matches its pods`).toBe(true)
      const grace = at(o, "spec", "template", "spec", "terminationGracePeriodSeconds")
      expect(typeof grace, `${name} terminationGracePeriodSeconds`).toBe("number")
      for (const c of containersOf(o)) {
        const what = `${file} ${name}/${String(c.name)}`
        const ports = list(c.ports, `${what} ports`).map((p) => obj(p, "port"))
        const portRefs = new Set<unknown>(ports.flatMap((p) => [p.name, p.containerPort]))
        for (const probe of ["livenessProbe", "readinessProbe"]) expect(c[probe], `${what} ${probe}`).toBeDefined()
        expect(at(c, "livenessProbe", "httpGet", "path"), `${what} liveness`).toBe("/health/live")
        expect(at(c, "readinessProbe", "httpGet", "path"), `${what} readiness`).toBe("/health/ready")
        for (const probe of ["livenessProbe", "readinessProbe", "startupProbe"]) {
          if (c[probe] === undefined) continue
          expect(SERVED_PATHS, `${what} ${probe} path`).toContain(at(c, probe, "httpGet", "path"))
          expect(portRefs.has(at(c, probe, "httpGet", "port")), `${what} ${probe} port is declared`).toBe(true)
        }
        for (const kind of ["requests", "limits"]) {
          expect(at(c, "resources", kind, "cpu"), `${what} ${kind}.cpu`).toBeDefined()
          expect(at(c, "resources", kind, "memory"), `${what} ${kind}.memory`).toBeDefined()
        }
        const preStop = optList(at(c, "lifecycle", "preStop", "exec", "command"), `${what} preStop`).map((x) => str(x, "preStop"))
        expect(preStop[0], `${what} preStop sleeps`).toBe("sleep")
        expect(Number(grace), `${what}: the grace period outlasts the preStop sleep`).toBeGreaterThan(Number(preStop[1]) + 15)
      }
    }
  })

  it("takes settings from existing ConfigMaps and Secrets, and gives each runner its own address", () => {
    for (const { o } of workloads) {
      for (const c of containersOf(o)) {
        const what = `${nameOf(o)}/${String(c.name)}`
        const names: Array<string> = []
        for (const from of optList(c.envFrom, `${what} envFrom`)) {
          const cm = at(from, "configMapRef", "name")
          const secret = at(from, "secretRef", "name")
          if (cm !== undefined) {
            const data = configMaps.get(str(cm, "configMapRef"))
            expect(data, `${what}: ConfigMap ${String(cm)}`).toBeDefined()
            names.push(...Object.keys(data ?? {}))
          }
          if (secret !== undefined) {
            const data = secrets.get(str(secret, "secretRef"))
            expect(data, `${what}: Secret ${String(secret)}`).toBeDefined()
            names.push(...Object.keys(data ?? {}))
          }
        }
        const env = optList(c.env, `${what} env`).map((e) => obj(e, "env"))
        for (const e of env) {
          names.push(str(e.name, "env name"))
          const secretRef = at(e, "valueFrom", "secretKeyRef")
          if (secretRef !== undefined) {
            expect(Object.keys(secrets.get(str(at(secretRef, "name"), "secret")) ?? {}), `${what} ${String(e.name)}`).toContain(at(secretRef, "key"))
          }
          const cmRef = at(e, "valueFrom", "configMapKeyRef")
          if (cmRef !== undefined) {
            expect(Object.keys(configMaps.get(str(at(cmRef, "name"), "configMap")) ?? {}), `${what} ${String(e.name)}`).toContain(at(cmRef, "key"))
          }
        }
        for (const n of names) expect(isKnownSetting(n), `${what}: ${n} is not a poretrack setting`).toBe(true)
        expect(names, what).toContain("DATABASE_URL")
        if (scriptOf(c, what) === "runner") {
          const host = env.find((e) => e.name === "RUNNER_HOST")
          expect(host, `${what} sets RUNNER_HOST`).toBeDefined()
          const fromPod = at(host, "valueFrom", "fieldRef", "fieldPath")
          expect(o.kind === "StatefulSet" || fromPod === "status.podIP", `${what}: RUNNER_HOST is the pod IP`).toBe(true)
          const runnerPort = [...configMaps.values()].map((d) => d.RUNNER_PORT).find((p) => p !== undefined) ?? "34431"
          const ports = list(c.ports, "ports").map((p) => at(p, "containerPort"))
          expect(ports, `${what} exposes RUNNER_PORT`).toContain(Number(runnerPort))
        }
      }
    }
  })

  it("points Services, autoscalers and disruption budgets at existing workloads", () => {
    const findWorkload = (kind: string, name: string) => workloads.find(({ o }) => o.kind === kind && nameOf(o) === name)
    for (const { o } of ofKind("Service")) {
      const selector = stringMap(at(o, "spec", "selector"), `${nameOf(o)} selector`)
      const target = workloads.find(({ o: w }) => selects(selector, podLabels(w)))
      expect(target, `Service ${nameOf(o)} selects a workload`).toBeDefined()
      const declared = new Set<unknown>(containersOf(target!.o).flatMap((c) => optList(c.ports, "ports").flatMap((p) => [at(p, "name"), at(p, "containerPort")])))
      for (const port of list(at(o, "spec", "ports"), "ports")) {
        expect(declared.has(at(port, "targetPort") ?? at(port, "port")), `Service ${nameOf(o)} targetPort`).toBe(true)
      }
    }
    const hpas = ofKind("HorizontalPodAutoscaler")
    for (const { o } of hpas) {
      const ref = obj(at(o, "spec", "scaleTargetRef"), "scaleTargetRef")
      expect(findWorkload(str(ref.kind, "kind"), str(ref.name, "name")), `HPA ${nameOf(o)} target`).toBeDefined()
      expect(Number(at(o, "spec", "minReplicas"))).toBeLessThanOrEqual(Number(at(o, "spec", "maxReplicas")))
    }
    const gateway = workloads.find(({ o }) => containersOf(o).some((c) => scriptOf(c, nameOf(o)) === "gateway"))
    const runner = workloads.find(({ o }) => containersOf(o).some((c) => scriptOf(c, nameOf(o)) === "runner"))
    expect(hpas.some(({ o }) => at(o, "spec", "scaleTargetRef", "name") === nameOf(gateway!.o)), "the gateway has an HPA").toBe(true)
    const pdbs = ofKind("PodDisruptionBudget")
    for (const { o } of pdbs) {
      const selector = stringMap(at(o, "spec", "selector", "matchLabels"), `${nameOf(o)} selector`)
      expect(workloads.some(({ o: w }) => selects(selector, podLabels(w))), `PDB ${nameOf(o)} selects a workload`).toBe(true)
    }
    expect(pdbs.some(({ o }) => selects(stringMap(at(o, "spec", "selector", "matchLabels"), "selector"), podLabels(runner!.o))), "runners have a PDB").toBe(true)
  })
})
