import type { Logger } from 'pino'
import type { Clock } from '../../common/clock.js'
import type { CronRunner } from './cron-runner.js'
import { CronWake } from './cron-wake.js'

/** After a look that failed (the database, say), the next try. */
const RETRY_MS = 30_000

/**
 * Runs the cron runner's looks: at start (a node that was off catches up, as decideFiring says),
 * when its timer reaches the next firing or deadline, and whenever asked (after a reconcile
 * pass, after the static directory was read again). A look is synchronous, so looks never overlap.
 */
export class CronLoop {
  private readonly wake: CronWake
  private stopped = false

  constructor(
    private readonly runner: Pick<CronRunner, 'look'>,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.wake = new CronWake(clock, () => this.poke())
  }

  poke(): void {
    if (this.stopped) return
    try {
      this.wake.at(this.runner.look())
    } catch (error) {
      this.logger.error({ err: error, retryInMs: RETRY_MS }, 'cron jobs: a look failed; trying again')
      this.wake.at(this.clock.now() + RETRY_MS)
    }
  }

  stop(): void {
    this.stopped = true
    this.wake.stop()
  }
}
