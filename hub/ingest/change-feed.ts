import { EventEmitter } from 'node:events'

/** What changed, for the API's server-sent-events stream and the console. */
export type Change =
  | { readonly type: 'node'; readonly nodeId: string; readonly reason: string }
  | { readonly type: 'deployment'; readonly name: string; readonly reason: string }
  /** `receivedAt`: when the hub recorded it, on its own clock (never the node's `at`). */
  | {
      readonly type: 'event'
      readonly id: number
      readonly nodeId: string | null
      readonly eventType: string
      readonly message: string
      readonly receivedAt?: string
    }

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
