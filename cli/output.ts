import { Option } from 'commander'
import { createRequire } from 'node:module'
import type * as Yaml from 'yaml'
import { processIo, type CliIo } from './io.js'
import { formatAge } from './table.js'

// yaml loads only for -o yaml: tables and JSON do not pay for it at start.
const lazy = createRequire(import.meta.url)

/**
 * How a verb prints: human tables (plain or wide), or machine output (json, yaml, name) that
 * never carries colour, ages or padding, only the hub's own fields.
 */
export type OutputFormat = 'table' | 'wide' | 'json' | 'yaml' | 'name'
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'wide', 'json', 'yaml', 'name']

export function outputOption(formats: readonly OutputFormat[] = OUTPUT_FORMATS): Option {
  return new Option('-o, --output <format>', 'output format').choices([...formats]).default('table')
}

/** JSON (2-space, trailing newline) or YAML of exactly this value. */
export function renderData(format: 'json' | 'yaml', value: unknown): string {
  return format === 'json' ? `${JSON.stringify(value, null, 2)}\n` : (lazy('yaml') as typeof Yaml).stringify(value, { lineWidth: 0 })
}

/** A terminal that can show colour: what the CLI is writing to. */
export interface Terminal {
  readonly colour: boolean
}

/**
 * Colour only when the output is a terminal and NO_COLOR is unset (https://no-color.org). A
 * captured io (tests) is not a terminal unless it says so with `isTTY: true`.
 */
export function terminalOf(io: CliIo, env: NodeJS.ProcessEnv = process.env): Terminal {
  const tty = io === processIo ? process.stdout.isTTY === true : (io as CliIo & { isTTY?: boolean }).isTTY === true
  return { colour: tty && (env.NO_COLOR === undefined || env.NO_COLOR === '') }
}

export type Colour = 'red' | 'green' | 'yellow' | 'dim' | 'bold'
const CODES: Readonly<Record<Colour, [number, number]>> = { red: [31, 39], green: [32, 39], yellow: [33, 39], dim: [2, 22], bold: [1, 22] }

export function paint(terminal: Terminal, colour: Colour | null, text: string): string {
  if (!terminal.colour || colour === null || text === '') return text
  const [on, off] = CODES[colour]
  return `\u001b[${on}m${text}\u001b[${off}m`
}

/** A table cell: its text, and optionally a colour applied after padding (so columns stay aligned). */
export type Cell = string | { readonly text: string; readonly colour: Colour | null }

const textOf = (cell: Cell | undefined): string => (cell === undefined ? '' : typeof cell === 'string' ? cell : cell.text)

/** The cell's text, coloured, then padded to `width` (the padding stays outside the colour). */
function padCell(terminal: Terminal, cell: Cell, width: number): string {
  const text = textOf(cell)
  const padding = ' '.repeat(Math.max(0, width - text.length))
  return `${typeof cell === 'string' ? text : paint(terminal, cell.colour, text)}${padding}`
}

/** renderTable's kubectl look (two spaces between left-aligned columns), with colour on a terminal. */
export function renderCells(terminal: Terminal, headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const widths = headers.map((header, i) => Math.max(header.length, ...rows.map((row) => textOf(row[i]).length)))
  const line = (cells: readonly Cell[]): string =>
    cells
      .map((cell, i) => padCell(terminal, cell, i === cells.length - 1 ? 0 : (widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  return `${[line(headers), ...rows.map(line)].join('\n')}\n`
}

/** "key: value" lines with the values aligned, for describe. */
export function renderFields(fields: readonly (readonly [string, string])[]): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length + 1))
  return fields
    .map(([key, value]) => {
      const [first = '', ...rest] = value.split('\n')
      return [`${`${key}:`.padEnd(width)}  ${first}`.trimEnd(), ...rest.map((line) => `${' '.repeat(width)}  ${line}`.trimEnd())].join('\n')
    })
    .join('\n')
    .concat('\n')
}

/** Indents every line of a block (a table under a describe heading). */
export function indent(text: string, by = 2): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `${' '.repeat(by)}${line}`))
    .join('\n')
}

/** "1.5Gi", "512Mi", "900Ki", "12B": binary units, short, as Kubernetes writes quantities. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '-'
  const units = ['B', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi']
  let value = bytes
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit++
  }
  const digits = unit === 0 || value >= 10 ? 0 : 1
  return `${value.toFixed(digits)}${units[unit]}`
}

export function formatPercent(part: number, whole: number): string {
  return whole > 0 ? `${Math.round((part / whole) * 100)}%` : '-'
}

/** "site=a,tier=edge", sorted by key; "<none>" when there are none. */
export function formatLabels(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return entries.length === 0 ? '<none>' : entries.map(([key, value]) => `${key}=${value}`).join(',')
}

/** An age column: "3m", or "-" when the time is unknown. */
export function ageOf(iso: string | null | undefined, now: number): string {
  return iso ? formatAge(iso, now) : '-'
}

export interface ConditionLike {
  readonly type: 'Ready' | 'Offline' | 'Degraded'
  readonly since: string | null
  readonly reasons: readonly string[]
}

/** "Ready", "Offline (5m)", "Degraded", with ",SchedulingDisabled" when cordoned: kubectl's STATUS. */
export function nodeStatusCell(condition: ConditionLike, cordoned: boolean, now: number): Cell {
  const base = condition.type === 'Offline' && condition.since ? `Offline (${formatAge(condition.since, now)})` : condition.type
  const text = cordoned ? `${base},SchedulingDisabled` : base
  const colour: Colour = condition.type === 'Ready' ? (cordoned ? 'yellow' : 'green') : condition.type === 'Offline' ? 'red' : 'yellow'
  return { text, colour }
}

/** Sorted copy by a text key, for stable output whatever order the hub answered in. */
export function sortedBy<T>(items: readonly T[], key: (item: T) => string): T[] {
  return [...items].sort((a, b) => {
    const x = key(a)
    const y = key(b)
    return x < y ? -1 : x > y ? 1 : 0
  })
}

/**
 * A table whose rows arrive over time (`get events -w`): the column widths are fixed by the
 * first batch (at least the header), so later rows line up without re-printing the table.
 */
export class StreamingTable {
  private widths: number[] | null = null

  constructor(
    private readonly terminal: Terminal,
    private readonly headers: readonly string[],
  ) {}

  /** The first batch, with the header; fixes the widths. */
  start(rows: readonly (readonly Cell[])[]): string {
    this.widths = this.headers.map((header, i) => Math.max(header.length, ...rows.map((row) => textOf(row[i]).length)))
    return [this.line(this.headers), ...rows.map((row) => this.line(row))].map((text) => `${text}\n`).join('')
  }

  more(rows: readonly (readonly Cell[])[]): string {
    return rows.map((row) => `${this.line(row)}\n`).join('')
  }

  private line(cells: readonly Cell[]): string {
    const widths = this.widths ?? []
    return cells
      .map((cell, i) => padCell(this.terminal, cell, i === cells.length - 1 ? 0 : (widths[i] ?? 0)))
      .join('  ')
      .trimEnd()
  }
}
