// Reads a process's cost from /proc: resident memory (VmRSS, VmHWM), CPU time (utime+stime
// in clock ticks) and I/O (write_bytes: what it sent towards storage). Linux only.
import { execFileSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'

/** Clock ticks per second for /proc/<pid>/stat times (100 on every mainstream kernel). */
export const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100

/** CPU seconds used by the process itself, and by children it has reaped. */
export function cpuTimes(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ')
  const ticks = (i) => Number(fields[i])
  return { self: (ticks(11) + ticks(12)) / CLK_TCK, children: (ticks(13) + ticks(14)) / CLK_TCK }
}

/** Resident set size now and its peak, in bytes. */
export function memory(pid) {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (key) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN) * 1024
  return { rss: kb('VmRSS'), peak: kb('VmHWM'), anon: kb('RssAnon'), file: kb('RssFile') }
}

/** Proportional set size: RSS with shared pages (the node binary, libraries) divided among their users. */
export function pss(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8')
    return Number(/^Pss:\s+(\d+) kB/m.exec(text)?.[1] ?? NaN) * 1024
  } catch {
    return null
  }
}

/**
 * /proc/<pid>/io: write_bytes is what the process caused to be written to storage (page cache
 * writeback it dirtied, counted when dirtied); wchar counts every write() including pipes and
 * sockets; cancelled_write_bytes is dirty data that was truncated before reaching the disk.
 */
export function io(pid) {
  const text = readFileSync(`/proc/${pid}/io`, 'utf8')
  const field = (key) => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN)
  return {
    writeBytes: field('write_bytes'),
    cancelledWriteBytes: field('cancelled_write_bytes'),
    wchar: field('wchar'),
    syscw: field('syscw'),
    readBytes: field('read_bytes'),
  }
}

export function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Sizes of the files that exist among `paths`, in bytes (missing files count 0). */
export function fileSizes(paths) {
  return Object.fromEntries(
    paths.map((path) => {
      try {
        return [path, statSync(path).size]
      } catch {
        return [path, 0]
      }
    }),
  )
}

/**
 * Samples one process over a window: RSS every `intervalMs` (min/mean/max), CPU seconds and
 * I/O counters at the start and the end. `stop()` returns the window's figures.
 */
export function sampleProcess(pid, { intervalMs = 1000 } = {}) {
  const started = performance.now()
  const cpu0 = cpuTimes(pid)
  const io0 = io(pid)
  const rss = [memory(pid).rss]
  const timer = setInterval(() => {
    if (alive(pid)) rss.push(memory(pid).rss)
  }, intervalMs)
  return {
    stop() {
      clearInterval(timer)
      const seconds = (performance.now() - started) / 1000
      const cpu1 = cpuTimes(pid)
      const io1 = io(pid)
      const mem = memory(pid)
      const proportional = pss(pid)
      rss.push(mem.rss)
      const cpuSeconds = cpu1.self - cpu0.self
      return {
        windowSeconds: seconds,
        cpuSeconds,
        cpuPercentOfOneCore: (100 * cpuSeconds) / seconds,
        childCpuSeconds: cpu1.children - cpu0.children,
        rssBytes: { min: Math.min(...rss), mean: rss.reduce((a, b) => a + b, 0) / rss.length, max: Math.max(...rss), last: mem.rss, samples: rss.length },
        peakRssBytes: mem.peak,
        rssAnonBytes: mem.anon,
        rssFileBytes: mem.file,
        pssBytes: proportional,
        io: {
          writeBytes: io1.writeBytes - io0.writeBytes,
          cancelledWriteBytes: io1.cancelledWriteBytes - io0.cancelledWriteBytes,
          wchar: io1.wchar - io0.wchar,
          writeCalls: io1.syscw - io0.syscw,
          readBytes: io1.readBytes - io0.readBytes,
        },
      }
    },
  }
}

export const MB = 1024 * 1024
