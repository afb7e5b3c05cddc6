// The agent creates and starts the containers of independent workloads side by side, as many
// at once as its firmware profile allows, and one after another on a profile that says 1.
// Overlap is read from the engine's own record of each container (created, then started),
// never from how long anything took.
import path from 'node:path'
import t from 'tap'
import type { Test } from 'tap'
import type { WorkloadInput } from '../support/hub-double.js'
import { dockerClient, startMosquitto, tempDir, testImage } from '../support/index.js'
import { startAgentProcess, uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { startMqttHubDouble } from '../support/hub-double.js'

t.setTimeout(180_000)

const WORKLOADS = Array.from({ length: 10 }, (_, i) => `w${String(i).padStart(2, '0')}`)

function sleeper(name: string, image: string): WorkloadInput {
  return { name, deployment: name, revision: 1, template: { image, command: ['sleep', '600'], restartPolicy: 'always', network: 'none' } }
}

/** An RFC 3339 time with up to nanoseconds, as the engine writes it, in nanoseconds: Date keeps only milliseconds. */
function nanos(text: string): bigint {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d+))?Z$/.exec(text)
  if (!match) throw new Error(`not an engine time: ${text}`)
  const seconds = BigInt(Date.parse(`${match[1]}Z`)) / 1000n
  return seconds * 1_000_000_000n + BigInt((match[2] ?? '').padEnd(9, '0').slice(0, 9))
}

interface Lifetime {
  readonly workload: string
  readonly created: bigint
  readonly started: bigint
}

/** When the engine created and started each workload's container, in the agent's order (by name). */
async function lifetimes(containers: ReadonlyMap<string, { id: string }>): Promise<Lifetime[]> {
  const docker = dockerClient()
  const out: Lifetime[] = []
  for (const workload of WORKLOADS) {
    const id = containers.get(workload)?.id
    if (!id) throw new Error(`no container for ${workload}`)
    const info = await docker.getContainer(id).inspect()
    out.push({ workload, created: nanos(info.Created), started: nanos(info.State.StartedAt) })
  }
  return out
}

/** Workloads whose container was created before the previous one (in plan order) had started. */
function overlaps(lives: readonly Lifetime[]): string[] {
  return lives.flatMap((life, i) => {
    const before = lives[i - 1]
    return before !== undefined && life.created < before.started ? [`${life.workload} created before ${before.workload} started`] : []
  })
}

async function runTen(t: Test, profile: string): Promise<Lifetime[]> {
  const image = testImage()
  const nodeId = uniqueNodeId('parallel')
  const broker = await startMosquitto(t)
  const hub = await startMqttHubDouble(t, broker.url)
  const dir = tempDir(t, 'agent-parallel')
  await startAgentProcess(t, { nodeId, dataDir: path.join(dir, 'data'), hubUrl: broker.url, hubKey: hub.publicKey, extraArgs: ['--profile', profile] })
  await hub.publishDesired(
    nodeId,
    WORKLOADS.map((name) => sleeper(name, image)),
    1,
  )
  const running = await waitForRunning(nodeId, WORKLOADS, 120_000)
  return lifetimes(running)
}

t.test('ten workloads of one document: created and started side by side on a server profile', async (t) => {
  const lives = await runTen(t, 'generic-amd64')
  const found = overlaps(lives)
  t.ok(found.length > 0, `some containers were created while others were still starting (${found.join('; ') || 'none'})`)
  const firstStart = lives.reduce((min, l) => (l.started < min ? l.started : min), lives[0]?.started ?? 0n)
  t.ok(lives.filter((l) => l.created < firstStart).length > 1, 'more than one container was created before the first one started')
})

t.test('a profile with concurrentSteps 1 keeps them one after another, in plan order', async (t) => {
  // raspberry-pi-zero-2w runs one step at a time.
  const lives = await runTen(t, 'raspberry-pi-zero-2w')
  t.same(overlaps(lives), [], 'each container was created only after the one before it had started')
  for (const life of lives) t.ok(life.created < life.started, `${life.workload}: created, then started`)
})
