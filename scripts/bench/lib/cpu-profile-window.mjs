// Where a process's CPU went during one window of a run, from V8 .cpuprofile files (node
// --cpu-prof): only the samples between `fromMs` and `toMs` on CLOCK_MONOTONIC (the clock of
// V8's profile timestamps and of process.hrtime, see sim-nodes.mjs `monoMs`). Samples are sorted
// into what the hub was doing (a fleet pass, publishing documents, ingesting outbox batches,
// heartbeats, the broker, GC), and the fleet pass's samples by the step of the pass they fall in:
// the function `pass` called (and, inside `store.transaction`, the one its callback called);
// the outbox ingester's likewise.
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'

function place(url) {
  if (!url) return 'native'
  const modules = url.lastIndexOf('node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const dist = url.lastIndexOf('/dist/')
  if (dist >= 0) return url.slice(dist + '/dist/'.length)
  if (url.startsWith('node:')) return url
  return path.basename(url)
}

const frameName = (frame) => `${frame.functionName || '(anonymous)'} (${place(frame.url)}:${frame.lineNumber + 1})`
const isFn = (frame, name, file) => frame.functionName === name && frame.url.endsWith(file)

/** Which part of the hub a stack (root first) belongs to. */
function activity(stack) {
  if (stack.some((f) => isFn(f, 'pass', 'fleet/fleet-controller.js'))) return 'fleet pass (schedule, plan, store, sign)'
  if (stack.some((f) => isFn(f, 'publishPending', 'fleet/fleet-controller.js'))) return 'publishing desired documents'
  if (stack.some((f) => f.functionName === 'ingestOutbox')) return 'ingesting outbox batches'
  if (stack.some((f) => f.functionName === 'ingestHeartbeat')) return 'ingesting heartbeats'
  if (stack.some((f) => f.url.includes('/hub/api/'))) return 'HTTP API'
  const leaf = stack.at(-1)
  if (leaf.functionName === '(garbage collector)') return 'garbage collection'
  if (leaf.functionName === '(program)') return '(program: native, unattributed)'
  if (stack.some((f) => /node_modules\/(aedes|mqtt-packet|aedes-[a-z-]+|mqemitter)/.test(f.url))) return 'broker (aedes, outside the above)'
  return 'other'
}

/** The step of a fleet pass a stack (root first) is in. */
function passStep(stack) {
  const at = stack.findIndex((f) => isFn(f, 'pass', 'fleet/fleet-controller.js'))
  let below = stack.slice(at + 1)
  if (below.length === 0) return 'pass itself'
  // store.transaction(fn): look through the wrapper (hub-store, better-sqlite3) to what fn called.
  if (below[0].functionName === 'transaction') {
    const callback = below.findIndex((f, i) => i > 0 && f.url.endsWith('fleet/fleet-controller.js'))
    if (callback < 0) return `transaction: ${frameName(below.at(-1))}`
    below = below.slice(callback + 1)
    return below.length === 0 ? 'transaction: the callback itself' : `transaction: ${frameName(below[0])}`
  }
  return frameName(below[0])
}

/** What ingestOutbox called (through store.transaction to its callback), for a stack (root first). */
function ingestStep(stack) {
  const at = stack.findIndex((f) => f.functionName === 'ingestOutbox')
  let below = stack.slice(at + 1)
  if (below.length === 0) return 'ingestOutbox itself'
  if (below[0].functionName === 'transaction') {
    const callback = below.findIndex((f, i) => i > 0 && f.url.endsWith('ingest/ingester.js'))
    if (callback < 0) return `transaction: ${frameName(below.at(-1))}`
    below = below.slice(callback + 1)
    if (below.length === 0) return 'transaction: the callback itself'
    // status.ingest does most of the work: one level further.
    if (below[0].functionName === 'ingest' && below.length > 1) return `transaction: ingest → ${frameName(below[1])}`
    return `transaction: ${frameName(below[0])}`
  }
  return frameName(below[0])
}

/** Functions whose inclusive time (any sample with them on the stack) is worth listing. */
const INCLUSIVE = [
  'pass',
  'schedule',
  'planFleetRollouts',
  'signDocument',
  'publicKeyOf',
  'createPrivateKey',
  'canonicalJson',
  'nextDocument',
  'replacePlacements',
  'publishPending',
  'ingestOutbox',
  'ingestHeartbeat',
  'decodeMessage',
]

export function profileWindow(dir, fromMs, toMs, top = 12) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const byActivity = new Map()
  const byStep = new Map()
  const byIngestStep = new Map()
  const inclusive = new Map()
  let sampledUs = 0
  let busyUs = 0
  let covered = false
  const add = (map, key, us) => map.set(key, (map.get(key) ?? 0) + us)
  for (const file of files) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'))
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
    const parent = new Map()
    for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
    const stackOf = new Map()
    const stack = (id) => {
      let cached = stackOf.get(id)
      if (cached) return cached
      const frames = []
      for (let at = id; at !== undefined; at = parent.get(at)) frames.push(nodes.get(at).callFrame)
      cached = frames.reverse().filter((f) => f.functionName !== '(root)')
      stackOf.set(id, cached)
      return cached
    }
    if (profile.startTime / 1000 <= fromMs && profile.endTime / 1000 >= toMs) covered = true
    let t = profile.startTime
    for (let i = 0; i < profile.samples.length; i++) {
      t += profile.timeDeltas[i] ?? 0
      const ms = t / 1000
      if (ms < fromMs || ms > toMs) continue
      const us = profile.timeDeltas[i + 1] ?? 0 // a sample stands for the interval up to the next one
      sampledUs += us
      const frames = stack(profile.samples[i])
      if (frames.length === 0 || frames.at(-1).functionName === '(idle)') continue
      busyUs += us
      const what = activity(frames)
      add(byActivity, what, us)
      if (what.startsWith('fleet pass')) add(byStep, passStep(frames), us)
      if (what.startsWith('ingesting outbox')) add(byIngestStep, ingestStep(frames), us)
      const seen = new Set()
      for (const f of frames)
        if (INCLUSIVE.includes(f.functionName) && !seen.has(f.functionName)) {
          seen.add(f.functionName)
          add(inclusive, f.functionName, us)
        }
    }
  }
  const list = (map, n = top) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 100) / 10, percentOfBusy: busyUs > 0 ? Math.round((1000 * us) / busyUs) / 10 : null }))
  return {
    files: files.length,
    windowCovered: covered,
    windowMs: Math.round(toMs - fromMs),
    sampledMs: Math.round(sampledUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    byActivity: list(byActivity, 20),
    passSteps: list(byStep),
    ingestSteps: list(byIngestStep, 8),
    inclusive: list(inclusive, INCLUSIVE.length),
  }
}
