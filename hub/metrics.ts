/** Counters, gauges and latency summaries, rendered as Prometheus text. Constructed per hub. */
export class Metrics {
  private readonly counters = new Map<string, Map<string, number>>()
  private readonly gauges = new Map<string, () => Map<string, number>>()
  private readonly latencies = new Map<string, number[]>()
  private readonly help = new Map<string, string>()

  constructor(private readonly maxSamples = 1024) {}

  describe(name: string, help: string): void {
    this.help.set(name, help)
  }

  inc(name: string, labels: Readonly<Record<string, string>> = {}, by = 1): void {
    const series = this.counters.get(name) ?? new Map<string, number>()
    const key = labelText(labels)
    series.set(key, (series.get(key) ?? 0) + by)
    this.counters.set(name, series)
  }

  counter(name: string, labels: Readonly<Record<string, string>> = {}): number {
    return this.counters.get(name)?.get(labelText(labels)) ?? 0
  }

  /** A gauge computed when scraped, e.g. nodes by condition from the store. */
  gauge(name: string, read: () => Map<string, number>): void {
    this.gauges.set(name, read)
  }

  observe(name: string, seconds: number): void {
    const samples = this.latencies.get(name) ?? []
    samples.push(seconds)
    if (samples.length > this.maxSamples) samples.splice(0, samples.length - this.maxSamples)
    this.latencies.set(name, samples)
  }

  render(): string {
    const lines: string[] = []
    const header = (name: string, type: string): void => {
      const help = this.help.get(name)
      if (help) lines.push(`# HELP ${name} ${help}`)
      lines.push(`# TYPE ${name} ${type}`)
    }
    for (const [name, series] of [...this.counters].sort(([a], [b]) => a.localeCompare(b))) {
      header(name, 'counter')
      for (const [labels, value] of series) lines.push(`${name}${labels} ${value}`)
    }
    for (const [name, read] of [...this.gauges].sort(([a], [b]) => a.localeCompare(b))) {
      header(name, 'gauge')
      for (const [labels, value] of read()) lines.push(`${name}${labels} ${value}`)
    }
    for (const [name, samples] of [...this.latencies].sort(([a], [b]) => a.localeCompare(b))) {
      header(name, 'summary')
      const sorted = [...samples].sort((a, b) => a - b)
      for (const q of [0.5, 0.9, 0.99]) {
        const value = sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0)
        lines.push(`${name}{quantile="${q}"} ${value}`)
      }
      lines.push(`${name}_count ${samples.length}`)
      lines.push(`${name}_sum ${samples.reduce((a, b) => a + b, 0)}`)
    }
    return `${lines.join('\n')}\n`
  }
}

export function labelText(labels: Readonly<Record<string, string>>): string {
  const entries = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`).join(',')}}`
}
