/** The parts of a running agent that stop, as stopAgent needs them. */
export interface StoppableAgent {
  readonly timers: { stop(): void }
  /** The static directory's cron jobs (agent/jobs/); null without a static directory. */
  readonly cron?: { stop(): void } | null
  readonly devices: { stop(): void }
  readonly images: { stop(): void }
  /** Null without a hub. */
  readonly sender: { stop(): void } | null
  readonly desiredRetry: { stop(): void }
  readonly logServer: { stop(): Promise<void> }
  /** Remote sessions: each ends with an `end` while the link still works. */
  readonly sessions: { stop(): Promise<void> }
  readonly reconciler: { stop(): Promise<void> }
  /** Pulls ahead of rollouts; after the reconciler, whose passes hand it work. */
  readonly prefetch: { stop(): Promise<void> }
  /** Null without a hub. */
  readonly link: { close(goodbye?: Buffer): Promise<void> } | null
  /** The "offline" presence to say on the way out; made only when there is a link to say it on. */
  readonly goodbye: () => Buffer
  readonly store: { close(): void }
  /** agent-process.json, which says this process is the running agent (agent/memory/agent-process-file.ts). */
  readonly processFile: { remove(): void }
}

/**
 * Stops in an order that loses nothing: first what starts work on a timer or a message (timers,
 * image collection, the sender, the desired retry), then the log server and the reconciler, whose
 * pass in progress finishes and stores what it did, and the prefetcher, whose pull in progress does; then the link, saying goodbye so the hub marks
 * the node offline at once; the store last, so no part writes to a closed database, and then the
 * record saying this process is the running agent. Containers are
 * never stopped: the engine keeps them running.
 */
export async function stopAgent(parts: StoppableAgent): Promise<void> {
  parts.timers.stop()
  parts.cron?.stop()
  parts.devices.stop()
  parts.images.stop()
  parts.sender?.stop()
  parts.desiredRetry.stop()
  await parts.logServer.stop()
  await parts.sessions.stop()
  await parts.reconciler.stop()
  await parts.prefetch.stop()
  if (parts.link) await parts.link.close(parts.goodbye())
  parts.store.close()
  parts.processFile.remove()
}
