import { describeExpression, type LabelSelector } from '../protocol/index.js'
import type { ConfigObjectDetail, ConfigObjectView } from './api-client.js'
import { ageOf, formatBytes, formatLabels, indent, renderCells, renderData, renderFields, type Cell, type OutputFormat, type Terminal } from './output.js'
import { formatAge } from './table.js'

/**
 * How `get` and `describe` show Configs and Secrets. A Secret's values never reach the CLI (the
 * hub never answers them), and nothing here would print them if they did: a Secret's data is
 * never read, only its keys and sizes.
 */

/** "site=a,tier in (edge)": a selector as `-l` reads it; "<all nodes>" when empty. */
export function formatSelector(selector: LabelSelector | undefined): string {
  const terms = [...Object.entries(selector?.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`), ...(selector?.matchExpressions ?? []).map(describeExpression)]
  return terms.length === 0 ? '<all nodes>' : terms.join(',')
}

/** "api-key,token", or the first keys and "+N more" past `width` characters. */
export function keysCell(keys: readonly { key: string }[], width = 40): string {
  if (keys.length === 0) return '<none>'
  const shown: string[] = []
  for (const { key } of keys) {
    if (shown.length > 0 && [...shown, key].join(',').length > width) break
    shown.push(key)
  }
  const rest = keys.length - shown.length
  return `${shown.join(',')}${rest > 0 ? ` +${rest} more` : ''}`
}

export function renderConfigObjects(
  objects: readonly ConfigObjectView[],
  view: { readonly terminal: Terminal; readonly format: OutputFormat; readonly now: () => number },
): string {
  if (view.format === 'json' || view.format === 'yaml') return renderData(view.format, { items: objects })
  if (view.format === 'name') return objects.map((o) => `${o.name}\n`).join('')
  const now = view.now()
  const wide = view.format === 'wide'
  const headers = ['NAME', 'VERSION', 'KEYS', 'USED BY', 'AGE', ...(wide ? ['SIZE', 'OVERRIDES', 'UPDATED', 'LABELS'] : [])]
  const rows = objects.map((o): Cell[] => [
    o.name,
    String(o.version),
    keysCell(o.keys),
    o.usedBy.length === 0 ? { text: '<none>', colour: 'dim' } : o.usedBy.join(','),
    ageOf(o.createdAt, now),
    ...(wide ? [formatBytes(totalBytes(o)), String(o.overrides.length), ageOf(o.updatedAt, now), formatLabels(o.labels)] : []),
  ])
  return renderCells(view.terminal, headers, rows)
}

function totalBytes(object: ConfigObjectView): number {
  const sum = (keys: readonly { bytes: number }[]): number => keys.reduce((total, k) => total + k.bytes, 0)
  return sum(object.keys) + object.overrides.reduce((total, o) => total + sum(o.keys), 0)
}

function section(title: string, body: string): string {
  return `\n${title}:\n${body.endsWith('\n') ? body : `${body}\n`}`
}

/**
 * `shoal describe config|secret NAME`: keys and sizes, a Config's data, the overrides, who uses
 * it and which version each copy runs. A Secret's section says its values are never shown.
 */
export function describeConfigObject(object: ConfigObjectDetail, context: { readonly terminal: Terminal; readonly now: number }): string {
  const { terminal, now } = context
  const secret = object.kind === 'Secret'
  const fields: [string, string][] = [
    ['Name', object.name],
    ['Kind', object.kind],
    ['Labels', formatLabels(object.labels)],
    ['Version', String(object.version)],
    ['Used by', object.usedBy.length === 0 ? '<no deployment>' : object.usedBy.join(', ')],
    ['Created', `${object.createdAt} (${formatAge(object.createdAt, now)} ago)`],
    ['Updated', `${object.updatedAt} (${formatAge(object.updatedAt, now)} ago)`],
  ]
  const keyTable = (keys: readonly { key: string; bytes: number }[]): string =>
    keys.length === 0
      ? '<none>\n'
      : renderCells(
          terminal,
          ['KEY', 'SIZE'],
          keys.map((k) => [k.key, formatBytes(k.bytes)]),
        )
  const keysBody = `${indent(keyTable(object.keys))}${secret ? "  (a Secret's values are never shown)\n" : ''}`
  const parts = [renderFields(fields), section('Keys', keysBody)]
  if (!secret && object.data !== undefined)
    parts.push(section('Data', Object.keys(object.data).length === 0 ? '  <none>' : indent(renderData('yaml', object.data))))
  parts.push(section('Overrides', object.overrides.length === 0 ? '  <none>' : object.overrides.map((_, i) => describeOverride(object, i, keyTable)).join('')))
  parts.push(section('Copies', describeCopies(object, terminal)))
  return parts.join('')
}

function describeOverride(object: ConfigObjectDetail, index: number, keyTable: (keys: readonly { key: string; bytes: number }[]) => string): string {
  const override = object.overrides[index]
  if (!override) return ''
  const head = `  ${index + 1}. nodes matching ${formatSelector(override.selector)}\n`
  const data = object.kind === 'Config' ? object.overrideData?.[index]?.data : undefined
  if (data !== undefined) return `${head}${indent(renderData('yaml', data), 5)}`
  return `${head}${indent(keyTable(override.keys), 5)}`
}

function describeCopies(object: ConfigObjectDetail, terminal: Terminal): string {
  if (object.copies.length === 0) return '  <none> (no deployment that uses it has a copy placed)'
  const copies = [...object.copies].sort((a, b) => (a.deployment + a.nodeId < b.deployment + b.nodeId ? -1 : 1))
  const rows = copies.map((c): Cell[] => {
    const behind = c.runningVersion !== c.desiredVersion
    const running = c.runningVersion === null ? 'not reported' : String(c.runningVersion)
    return [
      c.deployment,
      c.nodeId,
      c.workload,
      c.desiredVersion === null ? '-' : String(c.desiredVersion),
      behind ? { text: running, colour: 'yellow' } : running,
    ]
  })
  const behind = copies.filter((c) => c.runningVersion !== c.desiredVersion).length
  const note = behind === 0 ? '' : `  ${behind} of ${copies.length} ${copies.length === 1 ? 'copy does' : 'copies do'} not run the version sent yet\n`
  return `${indent(renderCells(terminal, ['DEPLOYMENT', 'NODE', 'WORKLOAD', 'DESIRED', 'RUNNING'], rows))}${note}`
}

/** "config/plc@3 secret/api@2": the versions a copy's container was given, or "" when none were reported. */
export function objectVersionsText(
  status:
    | { readonly configVersions?: Readonly<Record<string, number>> | undefined; readonly secretVersions?: Readonly<Record<string, number>> | undefined }
    | null
    | undefined,
): string {
  if (!status) return ''
  const list = (prefix: string, versions: Readonly<Record<string, number>> | undefined): string[] =>
    Object.entries(versions ?? {})
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, version]) => `${prefix}/${name}@${version}`)
  return [...list('config', status.configVersions), ...list('secret', status.secretVersions)].join(' ')
}
