import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { PRIVATE_FILE_MODE } from '../../common/fs/private-files.js'

/**
 * `agent-process.json` in the data directory: which process is the running agent, with the
 * budget it runs under, so `shoal agent status` (another process) can read that agent's memory
 * from /proc. Written once at start and removed at a clean stop: an idle agent writes nothing.
 */
export const AGENT_PROCESS_FILE = 'agent-process.json'

export interface AgentProcessRecord {
  readonly pid: number
  /** The process's start time in clock ticks since boot (/proc/PID/stat field 22): a reused PID has another. */
  readonly startTicks: number
  readonly profile: string
  readonly memoryBudgetBytes: number | null
  readonly nodeFlags: readonly string[]
  readonly startedAt: string
}

export function writeAgentProcess(dataDir: string, record: AgentProcessRecord): void {
  writeFileSync(join(dataDir, AGENT_PROCESS_FILE), `${JSON.stringify(record)}\n`, { mode: PRIVATE_FILE_MODE })
}

export function removeAgentProcess(dataDir: string, pid: number): void {
  // Only our own record: a second agent started on the same directory by mistake must not erase the first's.
  if (readAgentProcess(dataDir)?.pid === pid) rmSync(join(dataDir, AGENT_PROCESS_FILE), { force: true })
}

export function readAgentProcess(dataDir: string): AgentProcessRecord | null {
  try {
    const record = JSON.parse(readFileSync(join(dataDir, AGENT_PROCESS_FILE), 'utf8')) as AgentProcessRecord
    return Number.isInteger(record?.pid) && Number.isInteger(record?.startTicks) ? record : null
  } catch {
    return null
  }
}

/** Field 22 of /proc/PID/stat; the command name (field 2) may hold spaces and parentheses, so fields count from its last ")". */
export function processStartTicks(pid: number | 'self', procRoot = '/proc'): number | null {
  try {
    const stat = readFileSync(join(procRoot, String(pid), 'stat'), 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    const ticks = Number(fields[19])
    return Number.isInteger(ticks) ? ticks : null
  } catch {
    return null
  }
}

export interface AgentMemoryReading {
  readonly pid: number
  readonly profile: string
  readonly rssBytes: number
  readonly peakRssBytes: number
  readonly memoryBudgetBytes: number | null
  readonly nodeFlags: readonly string[]
}

/** The running agent's memory from /proc, or null when no agent runs on this directory (no record, or its process is gone). */
export function readAgentMemory(dataDir: string, procRoot = '/proc'): AgentMemoryReading | null {
  const record = readAgentProcess(dataDir)
  if (!record || processStartTicks(record.pid, procRoot) !== record.startTicks) return null
  let status: string
  try {
    status = readFileSync(join(procRoot, String(record.pid), 'status'), 'utf8')
  } catch {
    return null
  }
  const kib = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024
  return {
    pid: record.pid,
    profile: record.profile,
    rssBytes: kib('VmRSS'),
    peakRssBytes: kib('VmHWM'),
    memoryBudgetBytes: record.memoryBudgetBytes,
    nodeFlags: record.nodeFlags,
  }
}
