// How the console writes times, sizes and shares; pure functions of their inputs.

/** "12s", "3m", "5h", "2d": how long ago (or "just now"); "never" for null. */
export function ago(iso: string | null, now: number): string {
  if (!iso) return 'never'
  const ms = now - Date.parse(iso)
  if (!Number.isFinite(ms)) return '?'
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 2) return 'just now'
  if (s < 90) return `${s}s ago`
  const m = Math.round(s / 60)
  if (m < 90) return `${m}m ago`
  const h = Math.round(m / 60)
  if (h < 36) return `${h}h ago`
  return `${Math.round(h / 24)}d ago`
}

/** "in 45s", "in 23h", "in 6d" for a time ahead; `ago()` for one past (so "12m ago"). */
export function relative(iso: string, now: number): string {
  const ms = Date.parse(iso) - now
  if (!Number.isFinite(ms)) return '?'
  if (ms <= 0) return ago(iso, now)
  const s = Math.round(ms / 1000)
  if (s < 90) return `in ${s}s`
  const m = Math.round(s / 60)
  if (m < 90) return `in ${m}m`
  const h = Math.round(m / 60)
  if (h < 36) return `in ${h}h`
  return `in ${Math.round(h / 24)}d`
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** 1536 → "1.5 KiB". */
export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '–'
  let value = n
  let unit = 0
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024
    unit++
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)} ${UNITS[unit]}`
}

export function percent(used: number, total: number): number | null {
  return total > 0 ? Math.min(100, Math.max(0, (used / total) * 100)) : null
}

export function cores(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : (millis / 1000).toFixed(1)
}

export function localTime(iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleString()
}

/** "site=a, tier=edge" */
export function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(', ')
}

/** How long: "0.8s", "12s", "3m 05s", "2h 10m", "3d 4h". */
export function duration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?'
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`
  const h = Math.floor(m / 60)
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`
  return `${Math.floor(h / 24)}d ${h % 24}h`
}
