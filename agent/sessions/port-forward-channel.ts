import net from 'node:net'
import type { z } from 'zod'
import type { PortForwardTarget, SessionEnd } from '../../protocol/session.js'
import { findContainer } from './find-container.js'
import { type ChannelContext, type ChannelEvents, type OpenedChannel, SessionFailure } from './session-channel.js'

/** A connection that neither succeeds nor fails in this long (a container address nobody answers on) is given up. */
const CONNECT_TIMEOUT_MS = 10_000

/**
 * `port-forward`: one TCP connection on the node. Without a workload, to the node's own
 * loopback; with one, to its container's address on a bridge network, or the loopback when it
 * shares the host's network (no address of its own). Either side closing ends the session.
 */
export async function openPortForward(target: z.infer<typeof PortForwardTarget>, context: ChannelContext, events: ChannelEvents): Promise<OpenedChannel> {
  const container = target.workload === undefined ? null : await findContainer(context, target.workload, target.container, true)
  const host = container?.address ?? '127.0.0.1'
  const where = `${host}:${target.port}${container ? ` (workload ${target.workload})` : ''} on node ${context.nodeId}`
  const socket = net.connect({ host, port: target.port })
  socket.setNoDelay(true)
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy()
      reject(new SessionFailure('connect-failed', `connecting to ${where} took longer than ${CONNECT_TIMEOUT_MS / 1000} s`))
    }, CONNECT_TIMEOUT_MS)
    socket.once('connect', () => {
      clearTimeout(timer)
      resolve()
    })
    socket.once('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer)
      reject(new SessionFailure('connect-failed', `cannot connect to ${where}: ${error.code ?? error.message}`))
    })
  })

  let finished = false
  const finish = (end: SessionEnd): void => {
    if (finished) return
    finished = true
    events.done(end)
  }
  let failure: string | null = null
  socket.on('data', (chunk: Buffer) => {
    if (!finished) events.output(1, chunk)
  })
  socket.on('error', (error: NodeJS.ErrnoException) => {
    failure = `the connection to ${where} failed: ${error.code ?? error.message}`
  })
  socket.once('close', () => finish(failure === null ? { exitCode: 0 } : { error: { code: 'failed', message: failure } }))

  return {
    opened: container ? { container: container.name } : {},
    channel: {
      write: (bytes, written) => {
        if (socket.destroyed || !socket.writable) {
          written()
          return
        }
        socket.write(bytes, () => written())
      },
      endInput: () => {
        if (!socket.destroyed) socket.end()
      },
      resize: () => undefined,
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      destroy: () => {
        finished = true
        socket.destroy()
      },
    },
  }
}
