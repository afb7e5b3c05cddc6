import { z } from 'zod'
import { BandwidthRules } from '../protocol/bandwidth.js'
import { Capability, DevicePattern, HostPathRule } from '../protocol/node-policy.js'
import { Arch, Duration, Labels, Name } from '../protocol/primitives.js'
import { DEFAULT_MAX_SESSIONS_PER_NODE, DEFAULT_SESSION_IDLE_SECONDS } from '../protocol/session.js'
import { CpuQuantity, MemoryQuantity, durationMs, memoryBytes } from '../protocol/quantity.js'

/**
 * A compiled text pattern from a profile. Written in YAML either as a plain
 * string (case-insensitive substring) or as `/regex/flags`.
 */
export type TextPattern =
  | { readonly kind: 'substring'; readonly source: string; readonly needle: string }
  | { readonly kind: 'regex'; readonly source: string; readonly regex: RegExp }

const REGEX_LITERAL = /^\/(.+)\/([a-z]*)$/s
// `g` and `y` make RegExp.test() stateful (lastIndex), so a pattern would match on alternate calls; `d` and `v` add nothing here.
const ALLOWED_FLAGS = /^[imsu]*$/

/** Thrown by compilePattern; the schema turns it into a validation issue on the offending entry. */
export class PatternSyntaxError extends Error {
  readonly code = 'invalid-pattern'
  constructor(
    readonly pattern: string,
    detail: string,
  ) {
    super(`invalid pattern ${JSON.stringify(pattern)}: ${detail}; write a plain substring or /regex/ with flags from i, m, s, u`)
    this.name = 'PatternSyntaxError'
  }
}

export function compilePattern(source: string): TextPattern {
  const literal = REGEX_LITERAL.exec(source)
  if (!literal) return { kind: 'substring', source, needle: source.toLowerCase() }
  const [, body = '', flags = ''] = literal
  if (!ALLOWED_FLAGS.test(flags)) throw new PatternSyntaxError(source, `flags "${flags}" are not allowed`)
  try {
    return { kind: 'regex', source, regex: new RegExp(body, flags) }
  } catch (error) {
    // The RegExp constructor only ever throws SyntaxError.
    throw new PatternSyntaxError(source, (error as SyntaxError).message)
  }
}

export function patternMatches(pattern: TextPattern, text: string): boolean {
  return pattern.kind === 'regex' ? pattern.regex.test(text) : text.toLowerCase().includes(pattern.needle)
}

const Pattern = z
  .string()
  .min(1)
  .max(200)
  .superRefine((source, ctx) => {
    try {
      compilePattern(source)
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as PatternSyntaxError).message })
    }
  })
  .describe('a case-insensitive substring, or a regular expression written /like this/i (flags i, m, s, u)')

// zod 4 runs refinements even after an earlier check on the same value failed, so these must not throw on malformed input.
const PositiveDuration = Duration.refine((value) => orNaN(durationMs, value) !== 0, 'must be longer than zero')

function orNaN<T>(convert: (value: T) => number, value: T): number {
  try {
    return convert(value)
  } catch {
    return Number.NaN
  }
}

const Percent = z.number().int().min(1).max(100)

const MemoryRange = z
  .strictObject({
    min: MemoryQuantity.optional().describe(
      'smallest total memory (inclusive) this profile fits, e.g. 1536Mi; kernels report a little less than the label on the box',
    ),
    max: MemoryQuantity.optional().describe('largest total memory (inclusive) this profile fits, e.g. 8Gi'),
  })
  .refine((range) => range.min !== undefined || range.max !== undefined, 'give min, max or both')
  .refine((range) => range.min === undefined || range.max === undefined || !(orNaN(memoryBytes, range.min) > orNaN(memoryBytes, range.max)), {
    message: 'min must not be larger than max',
    path: ['max'],
  })
  .describe('total memory range the machine must fall in')

export const ProfileMatch = z
  .strictObject({
    arch: z
      .array(Arch)
      .min(1)
      .refine((list) => new Set(list).size === list.length, 'must not repeat an architecture')
      .optional()
      .describe('CPU architectures this profile fits (any of them)'),
    models: z
      .array(Pattern)
      .min(1)
      .optional()
      .describe('patterns tested against hardware model, hardware manufacturer and CPU model; any one matching is enough'),
    memory: MemoryRange.optional(),
    gpuVendors: z.array(Pattern).min(1).optional().describe('patterns tested against each GPU vendor, e.g. nvidia; at least one GPU must match'),
  })
  .describe('rules on the node inventory; every rule given must hold, and an empty match fits any machine')
export type ProfileMatch = z.output<typeof ProfileMatch>

const AgentTuning = z
  .strictObject({
    heartbeatInterval: PositiveDuration.describe('how often the agent tells the hub it is alive'),
    statusBatchInterval: PositiveDuration.describe(
      'how often the agent retries its outbox unprompted; a stored change is sent at once, and changes made while a batch awaits its ack go together in the next',
    ),
    outbox: z
      .strictObject({
        maxRecords: z.number().int().min(100).describe('most records kept while the hub has not acknowledged them; superseded status compacts first'),
        maxBytes: MemoryQuantity.describe('most bytes the outbox may take on disk, e.g. 32Mi'),
      })
      .describe('bound on the durable outbox of status and events'),
    logRetention: z
      .strictObject({
        maxLines: z.number().int().min(1).optional().describe('lines of container log kept per workload'),
        maxBytes: MemoryQuantity.optional().describe('bytes of container log kept per workload, e.g. 5Mi'),
      })
      .refine((retention) => retention.maxLines !== undefined || retention.maxBytes !== undefined, 'give maxLines, maxBytes or both')
      .describe('how much container log the agent keeps per workload'),
    imageGc: z
      .strictObject({
        highPercent: Percent.describe('disk usage (percent) at which unused images start being removed'),
        lowPercent: Percent.describe('disk usage (percent) image removal brings the disk back down to'),
      })
      .refine((gc) => gc.lowPercent < gc.highPercent, { message: 'lowPercent must be below highPercent', path: ['lowPercent'] })
      .describe('image garbage collection thresholds on the image disk'),
    concurrentPulls: z.number().int().min(1).max(16).describe('image pulls the agent runs at once'),
    concurrentSteps: z
      .number()
      .int()
      .min(1)
      .max(64)
      .default(4)
      .describe(
        "reconcile steps (create, start, stop, remove, pull) the agent runs at once for independent workloads; 1 runs them one after another; a copy's own containers always go in order",
      ),
    inventoryRefresh: PositiveDuration.describe('how often the agent collects its inventory again'),
    backOffEventInterval: PositiveDuration.default('60s').describe(
      "how often, at most, a crash-looping workload sends a BackOff event to the hub (each counts the restarts since the last; the workload's status always has the exact count); a metered link may want it longer",
    ),
    memoryBudget: MemoryQuantity.optional().describe(
      'resident memory the agent itself may use, e.g. 64Mi: it sizes its SQLite cache to it, warns (an event) when over it, and `shoal agent status` shows its RSS against it',
    ),
    containerLogs: z
      .strictObject({
        maxSize: MemoryQuantity.describe('size of one container log file before it rotates, e.g. 10Mi'),
        maxFiles: z.number().int().min(1).max(100).describe('log files kept per container, the current one included'),
      })
      .optional()
      .describe("bound on each container's log on disk when its template sets none (default 10Mi x 3)"),
    policy: z
      .strictObject({
        privileged: z.boolean().optional(),
        capabilities: z.array(Capability).max(64).optional(),
        hostPaths: z.array(HostPathRule).max(64).optional(),
        devices: z.array(DevicePattern).max(64).optional(),
      })
      .optional()
      .describe("the node policy's defaults for this device class; each field given replaces the built-in default, agent flags add to it"),
    remoteSessions: z
      .strictObject({
        enabled: z.boolean().default(true).describe('whether the hub may open exec, port-forward and copy sessions on this device class'),
        maxSessions: z
          .number()
          .int()
          .min(1)
          .max(1024)
          .default(DEFAULT_MAX_SESSIONS_PER_NODE)
          .describe('sessions open at once on one node; more are refused as busy'),
        idleSeconds: z
          .number()
          .int()
          .min(1)
          .max(7 * 24 * 3600)
          .default(DEFAULT_SESSION_IDLE_SECONDS)
          .describe('a session with no data either way for this long is ended as idle'),
        maxBytesPerSecond: MemoryQuantity.optional().describe(
          "cap on the node's session traffic, both ways and all sessions together, in bytes per second, e.g. 1Mi; absent: no cap",
        ),
      })
      .default({ enabled: true, maxSessions: DEFAULT_MAX_SESSIONS_PER_NODE, idleSeconds: DEFAULT_SESSION_IDLE_SECONDS })
      .describe('remote sessions (shoal exec, port-forward, cp; docs/remote-sessions.md) on this device class'),
    bandwidth: BandwidthRules.optional().describe(
      "metered links: a monthly byte budget, pull windows in local time, links pulls may use; a node's shoal.io/* labels replace each field they set (docs/agent.md)",
    ),
  })
  .describe('agent tuning for this device class')

export const FirmwareProfile = z
  .strictObject({
    name: Name.describe('unique profile name across the catalog'),
    description: z.string().min(1).max(200).describe('one line saying which machines this profile is for'),
    priority: z.number().int().min(-1000).max(1000).default(0).describe('breaks ties between matching profiles of equal specificity; higher wins'),
    match: ProfileMatch,
    labels: Labels.default({}).describe('labels the profile adds to the node'),
    capabilities: z
      .array(Name)
      .refine((list) => new Set(list).size === list.length, 'must not repeat a capability')
      .default([])
      .describe('capabilities the node offers to deployments, e.g. gpu, nvidia, cuda, industrial-io'),
    reserved: z
      .strictObject({
        cpu: CpuQuantity.describe('CPU kept for the OS and the agent, e.g. 250m'),
        memory: MemoryQuantity.describe('memory kept for the OS and the agent, e.g. 256Mi'),
      })
      .describe('resources the scheduler never hands to workloads'),
    agent: AgentTuning,
  })
  .describe('a device-class profile: how to recognise a machine and how to run the agent on it')

/** A validated profile, defaults filled in. */
export type FirmwareProfile = z.output<typeof FirmwareProfile>
