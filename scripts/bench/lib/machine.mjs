// What machine the figures came from, printed with every result.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { cpus, loadavg, totalmem, release } from 'node:os'
import { engineVersion } from './docker.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..')

export async function machine({ withDocker = true } = {}) {
  let os = null
  try {
    os = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? null
  } catch {
    os = null
  }
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memoryGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
    kernel: release(),
    os,
    node: process.version,
    docker: withDocker ? (await engineVersion()).server : null,
    source: sourceTree(),
    loadAverageAtStart: loadavg().map((v) => Math.round(v * 100) / 100),
  }
}

/** The commit the built dist/ came from, and whether the working tree had uncommitted changes. */
function sourceTree() {
  const dist = process.env.SHOAL_BENCH_DIST
  if (dist) {
    try {
      const dir = path.dirname(path.resolve(dist))
      return {
        commit: readFileSync(path.join(dir, 'COMMIT'), 'utf8').trim(),
        uncommittedSourceFiles: Number(readFileSync(path.join(dir, 'UNCOMMITTED'), 'utf8').trim()),
        snapshot: path.resolve(dist),
      }
    } catch {
      return { snapshot: path.resolve(dist) }
    }
  }
  try {
    const commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    const changed = execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'agent', 'hub', 'protocol', 'firmware-profiles'], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean).length
    return { commit, uncommittedSourceFiles: changed }
  } catch {
    return null
  }
}

function cpuTotals() {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]
  const values = line.trim().split(/\s+/).slice(1).map(Number)
  const idle = (values[3] ?? 0) + (values[4] ?? 0)
  return { idle, total: values.reduce((a, b) => a + b, 0) }
}

/**
 * How busy the whole machine was while a benchmark ran (all processes, ours and anyone
 * else's): other work on the machine skews latencies, so every result says how busy it was.
 */
export function machineLoad() {
  const first = cpuTotals()
  return () => {
    const last = cpuTotals()
    const total = last.total - first.total
    return {
      cpuBusyPercent: total > 0 ? Math.round((1000 * (total - (last.idle - first.idle))) / total) / 10 : null,
      loadAverageAtEnd: loadavg().map((v) => Math.round(v * 100) / 100),
    }
  }
}
