import type { Logger } from 'pino'
import type { InboundChannel, TransportHandlers } from '../transport/transport.js'

/** A reconcile trigger, as the reconciler takes it. */
export interface ReconcileRequests {
  request(reason: 'desired' | 'hub-unreachable'): void
}

export interface LinkParts {
  readonly outbox: { onConnected(): void; onAck(payload: Buffer): void; kick(): void }
  /** Heartbeats: one now, a new connection, and the hub's heartbeat basis (on the ack channel). */
  readonly heartbeats: { beat(): Promise<void>; onConnected(): void; offer(payload: Buffer): boolean }
  readonly reconciler: ReconcileRequests
  /** Takes a desired document, and keeps retrying one the store could not keep. */
  readonly desiredRetry: { offer(payload: Buffer): void }
  readonly logServer: { receive(payload: Buffer): void }
  /** Remote sessions: takes session-in frames; ends them all when the link goes down. */
  readonly sessions: { receive(payload: Buffer): void; linkDown(): void }
  readonly logger: Logger
}

/** What each inbound channel does; the mapped type makes a new channel fail to compile until it has a handler. */
export type InboundHandlers = { readonly [C in InboundChannel]: (payload: Buffer) => void }

/**
 * What the agent does as its hub link comes and goes and messages arrive. Up: the outbox sends
 * at once, and a heartbeat goes out so the hub does not show load and disk unknown for a whole
 * interval. Down: the agent works from its local store, and a pass may now revert a copy failing
 * its new revision locally.
 */
export function linkHandlers(parts: LinkParts): TransportHandlers {
  const { outbox, heartbeats, reconciler, sessions, logger } = parts
  return {
    onConnected: () => {
      outbox.onConnected()
      heartbeats.onConnected()
      void heartbeats.beat()
    },
    onDisconnected: (reason) => {
      logger.info({ reason }, 'hub link down; working from the local store')
      // Their frames cannot reach the hub now, and it ends them on its side too.
      sessions.linkDown()
      reconciler.request('hub-unreachable')
    },
    onMessage: dispatchInbound(inboundHandlers(parts), logger),
  }
}

/**
 * A desired document goes to intake, the outbox is nudged (the hub is listening) and a heartbeat
 * says which generation the node holds; a heartbeat basis to the heartbeats, any other ack to the outbox; a logs request to the log server;
 * a session frame to the session server.
 */
export function inboundHandlers({
  outbox,
  heartbeats,
  desiredRetry,
  logServer,
  sessions,
}: Pick<LinkParts, 'outbox' | 'heartbeats' | 'desiredRetry' | 'logServer' | 'sessions'>): InboundHandlers {
  return {
    desired: (payload) => {
      desiredRetry.offer(payload)
      outbox.kick()
      // The hub learns at once which generation the node now holds (Ready waits for it), not a
      // heartbeat interval later (30-60 s on the shipped profiles); a delta costs a few bytes.
      void heartbeats.beat()
    },
    ack: (payload) => {
      if (!heartbeats.offer(payload)) outbox.onAck(payload)
    },
    'logs-request': (payload) => logServer.receive(payload),
    'session-in': (payload) => sessions.receive(payload),
  }
}

/** Hands each message to its channel's handler; one that throws drops the message with a log line, and nothing stored changes. */
export function dispatchInbound(handlers: InboundHandlers, logger: Logger): (channel: InboundChannel, payload: Buffer) => void {
  return (channel, payload) => {
    try {
      handlers[channel](payload)
    } catch (error) {
      logger.error({ err: error, channel }, 'failed to handle a message; it was dropped and nothing stored changed')
    }
  }
}

/** Intake's answer to a desired document: only an accepted (verified, newer) one asks for a pass. */
export function takeDesired(intake: { receive(payload: Buffer): { readonly outcome: string } }, reconciler: ReconcileRequests): (payload: Buffer) => void {
  return (payload) => {
    if (intake.receive(payload).outcome === 'accepted') reconciler.request('desired')
  }
}
