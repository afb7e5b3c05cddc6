import { Command } from 'commander'
import { createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { SessionRequest } from '../../protocol/api/sessions.js'
import { addConnectionOptions, resolveConnection, type Connection, type ConnectionOptions } from '../contexts.js'
import { CliError, type CliIo } from '../io.js'
import { forwardPortsOf, forwardSubjectOf, type ForwardPorts, type ForwardSubject } from '../port-forward-spec.js'
import { CliSession } from '../session-client.js'
import { interruptSignal } from '../watch.js'
import { copyOptionsOf } from './exec.js'

interface PortForwardOptions extends ConnectionOptions {
  node?: string
  replica?: string
  container?: string
  address: string
}

/** `shoal port-forward DEPLOYMENT|node/NAME [LOCAL:]REMOTE`: a loopback listener, one session per connection. */
export function portForwardCommand(io: CliIo): Command {
  return addConnectionOptions(
    new Command('port-forward')
      .description("forward a local port to a port in a deployment's container or on a node, through the hub (no inbound port on the node)")
      .argument('<target>', 'a deployment name, or node/NAME for the node itself')
      .argument('<ports>', 'REMOTE, LOCAL:REMOTE, or :REMOTE for a free local port')
      .option('--node <name>', 'the copy on this node (needed when the deployment runs on several)')
      .option('--replica <n>', 'which of the node’s copies (1-based), when it holds several')
      .option('-c, --container <name>', 'a container of a several-container copy (default: its first)'),
  )
    .addHelpText(
      'after',
      `
Listens on 127.0.0.1 only and prints the address; every connection accepted there is its
own session to the port, as the workload's network mode sees it (its container's network,
or the node's loopback with host networking; node/NAME: the node's loopback). Runs until
Ctrl-C or SIGTERM.

Examples:
  $ shoal port-forward web 8080:80
  $ shoal port-forward web :80               (a free local port, printed)
  $ shoal port-forward node/pi-17 9100       (the node's own port 9100)`,
    )
    .action(async (targetText: string, portsText: string, options: PortForwardOptions) => {
      const subject = forwardSubjectOf(targetText)
      const ports = forwardPortsOf(portsText)
      const copy = copyOptionsOf(options)
      if (subject.kind === 'node' && (copy.node || copy.replica || copy.container)) throw new CliError('node/NAME takes no --node, --replica or --container')
      const connection = resolveConnection(options)
      const interrupt = interruptSignal()
      try {
        await forward(io, connection, requestFor(subject, ports, copy), ports, interrupt.signal)
      } finally {
        interrupt.dispose()
      }
    })
}

export function requestFor(
  subject: ForwardSubject,
  ports: ForwardPorts,
  copy: { node?: string; replica?: number; container?: string },
): Extract<SessionRequest, { kind: 'port-forward' }> {
  if (subject.kind === 'node') return { kind: 'port-forward', node: subject.name, port: ports.remote }
  return { kind: 'port-forward', deployment: subject.name, ...copy, port: ports.remote }
}

async function forward(
  io: CliIo,
  connection: Connection,
  request: Extract<SessionRequest, { kind: 'port-forward' }>,
  ports: ForwardPorts,
  signal: AbortSignal,
): Promise<void> {
  const sockets = new Set<Socket>()
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
    tunnel(io, connection, request, socket)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        new CliError(error.code === 'EADDRINUSE' ? `local port ${ports.local} is in use; pick another, or :${ports.remote} for a free one` : error.message),
      ),
    )
    server.listen(ports.local, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  io.out(`Forwarding from 127.0.0.1:${port} -> ${request.node && !request.deployment ? `node ${request.node}` : request.deployment}:${ports.remote}\n`)
  if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
  for (const socket of sockets) socket.destroy()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}

/** One accepted connection: its own session, bytes both ways with backpressure, closed together. */
function tunnel(io: CliIo, connection: Connection, request: SessionRequest, socket: Socket): void {
  socket.pause()
  let session: CliSession | null = null
  CliSession.open(connection, request, {
    data: (_stream, bytes) => {
      const more = socket.write(bytes)
      if (!more) socket.once('drain', () => session?.resume())
      return more
    },
  }).then(
    (open) => {
      session = open
      socket.on('data', (chunk: Buffer) => {
        socket.pause()
        void open.write(chunk).then(() => socket.resume())
      })
      socket.once('end', () => open.eof())
      socket.once('close', () => open.close())
      socket.on('error', () => open.close())
      socket.resume()
      void open.ended.then((end) => {
        if (end.error && end.error.code !== 'closed') io.err(`port-forward: a connection ended: ${end.error.message} (${end.error.code})\n`)
        socket.end()
      })
    },
    (error: unknown) => {
      io.err(`port-forward: ${(error as Error).message}\n`)
      socket.destroy()
    },
  )
}
