import type { Inventory } from '../protocol/inventory.js'
import { memoryBytes } from '../protocol/quantity.js'
import { compilePattern, patternMatches, type FirmwareProfile, type ProfileMatch, type TextPattern } from './schema.js'

/**
 * Picks the firmware profile for a machine, as a pure function of its
 * inventory and the catalog. Every match rule a profile gives must hold; among
 * the profiles that fit, the most specific wins: a satisfied rule scores its
 * weight, and a model match (which names the device) outweighs everything a
 * generic "arch only" profile can score. Ties go to the higher `priority`,
 * then to the name in alphabetical order, so the answer never depends on the
 * order profiles were loaded in.
 *
 * When no profile fits (an architecture no profile covers) the matcher throws
 * NoMatchingProfileError rather than guessing: tuning meant for another class
 * of machine (outbox size, pulls, reserved memory) can starve a small device
 * or waste a large one, and adding a ten-line generic profile is cheap.
 */

/** Weight of each satisfied rule; a model match alone outweighs all the others together. */
export const RULE_WEIGHTS = { models: 8, gpuVendors: 4, memory: 2, arch: 1 } as const satisfies Record<keyof ProfileMatch, number>

export interface CandidateReport {
  readonly name: string
  /** True when every rule of the profile holds for this machine. */
  readonly matched: boolean
  /** Sum of RULE_WEIGHTS over the rules that hold, matched or not. */
  readonly score: number
  /** One line per rule, in rule order (arch, models, memory, gpuVendors). */
  readonly reasons: readonly string[]
  /** The reasons of the rules that did not hold: why this profile was not chosen. */
  readonly unmet: readonly string[]
}

export interface ProfileChoice {
  readonly profile: FirmwareProfile
  readonly reasons: readonly string[]
  /** Every profile in the catalog, best first. */
  readonly candidates: readonly CandidateReport[]
}

export class UnknownProfileError extends Error {
  readonly code = 'unknown-profile'
  constructor(
    readonly profileName: string,
    readonly known: readonly string[],
  ) {
    super(`no firmware profile is named ${JSON.stringify(profileName)}; choose one of: ${known.join(', ') || '(the catalog is empty)'}`)
    this.name = 'UnknownProfileError'
  }
}

export class NoMatchingProfileError extends Error {
  readonly code = 'no-matching-profile'
  constructor(
    readonly arch: string,
    readonly candidates: readonly CandidateReport[],
  ) {
    super(
      `no firmware profile fits this machine (arch ${arch}); add a profile whose match.arch includes ${arch} ` +
        `(for example generic-${arch}.yaml) or name a profile explicitly with an override`,
    )
    this.name = 'NoMatchingProfileError'
  }
}

interface RuleOutcome {
  readonly satisfied: boolean
  readonly reason: string
}

interface Evaluation {
  readonly profile: FirmwareProfile
  readonly report: CandidateReport
}

export function matchProfile(inventory: Inventory, profiles: readonly FirmwareProfile[], override?: string): ProfileChoice {
  const ranked = profiles.map((profile) => evaluate(inventory, profile)).sort(compareEvaluations)
  const candidates = ranked.map((evaluation) => evaluation.report)

  if (override !== undefined) {
    const chosen = ranked.find((evaluation) => evaluation.profile.name === override)
    if (!chosen) throw new UnknownProfileError(override, profiles.map((profile) => profile.name).sort())
    const note = chosen.report.matched ? [] : ['its match rules do not all hold for this machine; the override wins anyway']
    return { profile: chosen.profile, reasons: [`chosen by override '${override}'`, ...chosen.report.reasons, ...note], candidates }
  }

  const matching = ranked.filter((evaluation) => evaluation.report.matched)
  const [best, runnerUp] = matching
  if (!best) throw new NoMatchingProfileError(inventory.arch, candidates)
  return { profile: best.profile, reasons: [...best.report.reasons, whyBest(best, runnerUp, matching.length)], candidates }
}

/** How one profile fares against one machine, with a reason per rule. */
export function evaluateProfile(inventory: Inventory, profile: FirmwareProfile): CandidateReport {
  return evaluate(inventory, profile).report
}

function evaluate(inventory: Inventory, profile: FirmwareProfile): Evaluation {
  const { match } = profile
  const outcomes: Array<[keyof ProfileMatch, RuleOutcome]> = []
  if (match.arch) outcomes.push(['arch', archRule(inventory, match.arch)])
  if (match.models) outcomes.push(['models', modelRule(inventory, match.models)])
  if (match.memory) outcomes.push(['memory', memoryRule(inventory, match.memory)])
  if (match.gpuVendors) outcomes.push(['gpuVendors', gpuVendorRule(inventory, match.gpuVendors)])

  const reasons = outcomes.length === 0 ? ['no match rules, so it fits any machine'] : outcomes.map(([, outcome]) => outcome.reason)
  const score = outcomes.reduce((sum, [rule, outcome]) => sum + (outcome.satisfied ? RULE_WEIGHTS[rule] : 0), 0)
  const unmet = outcomes.filter(([, outcome]) => !outcome.satisfied).map(([, outcome]) => outcome.reason)
  return { profile, report: { name: profile.name, matched: unmet.length === 0, score, reasons, unmet } }
}

function compareEvaluations(a: Evaluation, b: Evaluation): number {
  return (
    Number(b.report.matched) - Number(a.report.matched) ||
    b.report.score - a.report.score ||
    b.profile.priority - a.profile.priority ||
    (a.profile.name < b.profile.name ? -1 : a.profile.name > b.profile.name ? 1 : 0)
  )
}

function whyBest(best: Evaluation, runnerUp: Evaluation | undefined, matchingCount: number): string {
  const score = best.report.score
  if (!runnerUp) return `the only matching profile (score ${score})`
  const other = runnerUp.report
  const prefix = `most specific of ${matchingCount} matching profiles`
  if (score > other.score) return `${prefix}: score ${score} beats ${other.name} (score ${other.score})`
  if (best.profile.priority > runnerUp.profile.priority) {
    return `${prefix}: ties ${other.name} on score ${score}, wins on priority ${best.profile.priority} over ${runnerUp.profile.priority}`
  }
  return `${prefix}: ties ${other.name} on score ${score} and priority ${best.profile.priority}, wins on name order`
}

function archRule(inventory: Inventory, arch: readonly string[]): RuleOutcome {
  const satisfied = arch.includes(inventory.arch)
  if (arch.length === 1) {
    return { satisfied, reason: satisfied ? `arch ${inventory.arch} matches` : `arch ${inventory.arch} is not ${arch[0]}` }
  }
  const list = arch.join(', ')
  return { satisfied, reason: `arch ${inventory.arch} ${satisfied ? 'is' : 'is not'} one of ${list}` }
}

function modelRule(inventory: Inventory, sources: readonly string[]): RuleOutcome {
  const fields: ReadonlyArray<readonly [string, string | undefined]> = [
    ['hardware model', inventory.hardware.model],
    ['hardware manufacturer', inventory.hardware.manufacturer],
    ['CPU model', inventory.cpu.model],
  ]
  const present = fields.filter((field): field is readonly [string, string] => Boolean(field[1]))
  const patterns = sources.map(compilePattern)
  for (const pattern of patterns) {
    for (const [label, value] of present) {
      if (patternMatches(pattern, value)) return { satisfied: true, reason: `${label} '${value}' ${describeMatch(pattern)}` }
    }
  }
  const seen = present.map(([label, value]) => `${label} '${value}'`).join(', ') || 'no model strings'
  return { satisfied: false, reason: `no model pattern (${patterns.map(describePattern).join(', ')}) matches ${seen}` }
}

function memoryRule(inventory: Inventory, range: NonNullable<ProfileMatch['memory']>): RuleOutcome {
  const total = inventory.memoryBytes
  const min = range.min === undefined ? undefined : memoryBytes(range.min)
  const max = range.max === undefined ? undefined : memoryBytes(range.max)
  const have = `memory ${formatBytes(total)}`
  if (min !== undefined && total < min) return { satisfied: false, reason: `${have} is below the minimum ${formatBytes(min)}` }
  if (max !== undefined && total > max) return { satisfied: false, reason: `${have} is above the maximum ${formatBytes(max)}` }
  if (min !== undefined && max !== undefined) return { satisfied: true, reason: `${have} within ${formatBytes(min)}–${formatBytes(max)}` }
  if (min !== undefined) return { satisfied: true, reason: `${have} is at least ${formatBytes(min)}` }
  return { satisfied: true, reason: `${have} is at most ${formatBytes(max ?? 0)}` }
}

function gpuVendorRule(inventory: Inventory, sources: readonly string[]): RuleOutcome {
  const patterns = sources.map(compilePattern)
  const fitting = inventory.gpus.filter((gpu) => patterns.some((pattern) => patternMatches(pattern, gpu.vendor)))
  const [first] = fitting
  if (first) {
    const pattern = patterns.find((candidate) => patternMatches(candidate, first.vendor))
    const count = inventory.gpus.length > 1 ? ` (${fitting.length} of ${inventory.gpus.length} GPUs)` : ''
    return {
      satisfied: true,
      reason: `GPU vendor '${first.vendor}' of '${first.model}' ${pattern ? describeMatch(pattern) : 'matches'}${count}`,
    }
  }
  const found = inventory.gpus.length === 0 ? 'no GPUs found' : `found ${inventory.gpus.map((gpu) => `'${gpu.vendor}'`).join(', ')}`
  return { satisfied: false, reason: `no GPU vendor matches ${patterns.map(describePattern).join(', ')} (${found})` }
}

function describePattern(pattern: TextPattern): string {
  return pattern.kind === 'regex' ? pattern.source : `'${pattern.source}'`
}

function describeMatch(pattern: TextPattern): string {
  return pattern.kind === 'regex' ? `matches ${pattern.source}` : `contains '${pattern.source}'`
}

/** Binary units, one decimal at most: "3.7 GiB", "408 MiB". */
export function formatBytes(bytes: number): string {
  const units: ReadonlyArray<readonly [string, number]> = [
    ['TiB', 1024 ** 4],
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ]
  for (const [unit, size] of units) {
    if (bytes >= size) return `${Number((bytes / size).toFixed(1))} ${unit}`
  }
  return `${bytes} B`
}
