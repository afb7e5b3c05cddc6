import { EventEmitter } from 'node:events'
import type { Change } from '../../protocol/api/index.js'

/** What changed, for the API's server-sent-events stream and the console: the contract's shape. */
export type { Change }

/** In-process fan-out of changes; one per hub, passed to whoever needs it. */
export class ChangeFeed {
  private readonly emitter = new EventEmitter()

  constructor() {
    // Each SSE client subscribes; a busy console can have many tabs.
    this.emitter.setMaxListeners(1000)
  }

  publish(change: Change): void {
    this.emitter.emit('change', change)
  }

  subscribe(listener: (change: Change) => void): () => void {
    this.emitter.on('change', listener)
    return () => this.emitter.off('change', listener)
  }
}
