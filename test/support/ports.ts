import { randomInt } from 'node:crypto'
import net from 'node:net'

/**
 * Below Linux's ephemeral range (32768-60999 by default): the kernel never gives these to an
 * outgoing connection, so a port found free here cannot be taken by some test's client socket
 * before the server it was meant for binds it (a port the kernel picks with listen(0) can).
 */
const LISTEN_PORTS = { min: 20_000, max: 32_767 }

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer()
    srv.unref()
    srv.once('error', () => resolve(false))
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)))
  })
}

/** A port that was free on 127.0.0.1 a moment ago, outside the range outgoing connections use. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = randomInt(LISTEN_PORTS.min, LISTEN_PORTS.max + 1)
    if (await canListen(port)) return port
  }
  throw new Error(`no free port between ${LISTEN_PORTS.min} and ${LISTEN_PORTS.max} after 100 tries`)
}

/** True when something accepts a TCP connection on host:port right now. */
export function portAccepts(port: number, host = '127.0.0.1', timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect({ port, host })
    const done = (ok: boolean): void => {
      sock.destroy()
      resolve(ok)
    }
    sock.setTimeout(timeoutMs, () => done(false))
    sock.once('connect', () => done(true))
    sock.once('error', () => done(false))
  })
}
