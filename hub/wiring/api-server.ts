import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import { buildRoutes, type ApiServices } from '../api/routes.js'
import { adminTokenCheck, createApiServer } from '../api/server.js'
import type { SessionRelay } from '../sessions/session-relay.js'
import { SessionSockets } from '../sessions/session-socket.js'
import { serveStaticFiles } from '../api/static-files.js'

/** The largest request body the API reads (manifests are the largest). */
const MAX_BODY_BYTES = 2 * 1024 * 1024

/**
 * Where the web console's built files are: as configured (null turns it off), else beside the
 * built hub (dist/hub/wiring/ → dist/console). Pure.
 */
export function consoleDirOf(configured: string | null | undefined, here: string = import.meta.url): string | null {
  return configured === undefined ? fileURLToPath(new URL('../../console/', here)) : configured
}

/** The URL the API answers on: an IPv6 host in brackets. Pure. */
export function apiUrlOf(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`
}

/** The API server over the hub's services, with the console at `/` when there is one. Not listening yet. Wiring only. */
export function createHubApiServer(
  parts: ApiServices,
  options: {
    readonly adminToken: string
    readonly logger: Logger
    readonly consoleDir?: string | null | undefined
    readonly maxConnectionsPerClient?: number
  },
): Server {
  const consoleDir = consoleDirOf(options.consoleDir)
  return createApiServer({
    router: buildRoutes(parts),
    adminToken: options.adminToken,
    logger: options.logger,
    maxBodyBytes: MAX_BODY_BYTES,
    ...(options.maxConnectionsPerClient ? { limits: { maxConnectionsPerClient: options.maxConnectionsPerClient } } : {}),
    ...(consoleDir ? { fallback: serveStaticFiles({ root: consoleDir, logger: options.logger }) } : {}),
  })
}

/** The operator's session WebSocket on the API server, with the API's token check (the admin token, whose user is `admin`). Wiring only. */
export function attachSessionSockets(server: Server, relay: SessionRelay, adminToken: string, logger: Logger): SessionSockets {
  const matches = adminTokenCheck(adminToken)
  const sockets = new SessionSockets({ relay, authenticate: (token) => (matches(token) ? 'admin' : null), logger })
  sockets.attach(server)
  return sockets
}

/** Resolves with the bound port once the server listens; rejects on a listen error (a port in use). */
export function listen(server: Server, host: string, port: number): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, host, () => {
      server.off('error', reject)
      resolve((server.address() as AddressInfo).port)
    })
  })
}

/** Closes every connection (SSE streams and log follows too) and waits for the server to close. */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => server.close(() => resolve()))
}
