// Reads a V8 .cpuprofile (node --cpu-prof) and lists where the time went: self time per
// function, and per package or project file, so a benchmark can say what the hub was doing.
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'

function place(url) {
  if (!url) return '(native or idle)'
  const modules = url.lastIndexOf('node_modules/')
  if (modules >= 0) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/')
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]
  }
  const dist = url.lastIndexOf('/dist/')
  if (dist >= 0) return url.slice(dist + 1)
  if (url.startsWith('node:')) return url
  return path.basename(url)
}

/** Top functions and places by self time, as percentages of the profiled (non-idle) time. */
export function summarizeProfiles(dir, top = 15) {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))
  const byFunction = new Map()
  const byPlace = new Map()
  let busy = 0
  for (const file of files) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8'))
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]))
    const dt = profile.timeDeltas
    for (let i = 0; i < profile.samples.length; i++) {
      const node = nodes.get(profile.samples[i])
      const name = node.callFrame.functionName || '(anonymous)'
      if (name === '(idle)' || name === '(program)' || name === '(garbage collector)') {
        if (name !== '(idle)') {
          byPlace.set(name, (byPlace.get(name) ?? 0) + (dt[i] ?? 0))
          busy += dt[i] ?? 0
        }
        continue
      }
      const where = place(node.callFrame.url)
      const key = `${name} (${where}:${node.callFrame.lineNumber + 1})`
      byFunction.set(key, (byFunction.get(key) ?? 0) + (dt[i] ?? 0))
      byPlace.set(where, (byPlace.get(where) ?? 0) + (dt[i] ?? 0))
      busy += dt[i] ?? 0
    }
  }
  const share = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, percent: Math.round((1000 * us) / busy) / 10, ms: Math.round(us / 1000) }))
  return { files: files.length, busyMs: Math.round(busy / 1000), topFunctions: share(byFunction), topPlaces: share(byPlace) }
}
