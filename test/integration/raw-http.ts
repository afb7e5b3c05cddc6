// A plain TCP client for HTTP tests that need what fetch hides: a request left unfinished, the
// local address a connection comes from, and exactly when the server closes the socket.
import net from 'node:net'

export interface RawConnection {
  readonly socket: net.Socket
  /** Everything received so far. */
  text(): string
  /** Resolves when the server has answered with this much (or more) of a response. */
  received(pattern: RegExp): Promise<string>
  /** Resolves when the socket is closed, with everything received. */
  readonly closed: Promise<string>
}

/** Connects to 127.0.0.1:port from `localAddress` (any 127.x.y.z is loopback) and writes `request`. */
export async function rawConnection(port: number, request: string, localAddress = '127.0.0.1'): Promise<RawConnection> {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress })
  let data = ''
  const waiters: { pattern: RegExp; resolve: (text: string) => void }[] = []
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    data += chunk
    for (const waiter of waiters.splice(0)) {
      if (waiter.pattern.test(data)) waiter.resolve(data)
      else waiters.push(waiter)
    }
  })
  socket.on('error', () => undefined) // a reset shows as a close
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(data)))
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  if (request !== '') socket.write(request)
  return {
    socket,
    text: () => data,
    received: (pattern) =>
      pattern.test(data)
        ? Promise.resolve(data)
        : Promise.race([
            new Promise<string>((resolve) => waiters.push({ pattern, resolve })),
            closed.then((text) => {
              if (pattern.test(text)) return text
              throw new Error(`the connection closed before ${pattern} was received; got ${JSON.stringify(text.slice(0, 300))}`)
            }),
          ]),
    closed,
  }
}
