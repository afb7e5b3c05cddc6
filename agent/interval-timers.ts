/** The agent's periodic timers, unref'd (none keeps the process alive) and cleared together on stop. */
export class IntervalTimers {
  private readonly timers: NodeJS.Timeout[] = []

  every(ms: number, run: () => void): void {
    const timer = setInterval(run, ms)
    timer.unref()
    this.timers.push(timer)
  }

  stop(): void {
    for (const timer of this.timers.splice(0)) clearInterval(timer)
  }
}
