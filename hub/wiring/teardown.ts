/** One step of undoing a start: close a store, stop a loop, clear a timer. */
export type TeardownStep = () => Promise<void> | void

/**
 * What a start has begun, undone in reverse order. `abandon` is for a start that failed: every
 * step runs whatever the others do, and the start's own error is what the caller sees, so the
 * process ends instead of running half-started (a port already in use). `run` is the hub's
 * stop: steps in reverse, the first failure ends it. Either empties the list, so a second stop
 * does nothing.
 */
export class Teardown {
  private readonly steps: TeardownStep[] = []

  add(step: TeardownStep): void {
    this.steps.push(step)
  }

  async abandon(error: unknown): Promise<never> {
    for (const step of this.steps.splice(0).reverse())
      await Promise.resolve()
        .then(step)
        .catch(() => undefined)
    throw error
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step()
  }
}
