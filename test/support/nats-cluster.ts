// A 3-server nats-server cluster on loopback as docs/brokers.md tells an operator to run one:
// every server's config in one directory, each with its own JetStream store, routes to the
// others, a pid file, and the one shared `include` of the authorization the hub generates.
// Each server is a real process, killed by PID when the test ends (pass or fail).
import { writeFileSync } from 'node:fs'
import path from 'node:path'
import { freePort } from './ports.js'
import { serviceDir, startService, type ServiceHandle } from './process.js'
import type { TestLike } from './types.js'
import { waitFor } from './wait.js'

export interface NatsClusterServer {
  /** n1, n2, n3: the `server_name`, as /jsz names leaders. */
  readonly name: string
  readonly handle: ServiceHandle
  readonly pidFile: string
  readonly monitorPort: number
}

export interface NatsCluster {
  readonly servers: readonly NatsClusterServer[]
  /** Every server's client URL, separated by commas (what `--nats-url` takes). */
  readonly url: string
  /** The server named so by JetStream's meta layer, once every live server agrees on one. */
  metaLeader(): Promise<string>
  /** The server leading this stream's replica group, from a live server's /jsz. */
  streamLeader(stream: string): Promise<string | null>
  /** How many servers hold the stream (its leader and replicas), from the leader's view. */
  streamReplicas(stream: string): Promise<number | null>
  /** True when every live server holds the stream, current with its leader. */
  streamCurrent(stream: string): Promise<boolean>
  /** The server a client with this connection name is connected to, if any. */
  serverOf(clientName: string): Promise<NatsClusterServer | null>
  byName(name: string): NatsClusterServer
}

interface StreamDetail {
  readonly name: string
  readonly cluster?: {
    readonly leader?: string
    readonly replicas?: readonly { readonly name: string; readonly current?: boolean; readonly offline?: boolean }[]
  }
}

interface Jsz {
  readonly meta_cluster?: { readonly leader?: string; readonly cluster_size?: number }
  readonly account_details?: readonly {
    readonly stream_detail?: readonly StreamDetail[]
  }[]
}

async function monitor<T>(port: number, route: string): Promise<T | null> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}${route}`, { signal: AbortSignal.timeout(2_000) })
    return response.ok ? ((await response.json()) as T) : null
  } catch {
    return null
  }
}

/**
 * Starts `size` servers (3 by default) whose configs live in `dir` beside `includeFile` (a path
 * relative to `dir`: nats-server resolves includes against the including file), and waits until
 * JetStream has a meta leader that every server names.
 */
export async function startNatsCluster(t: TestLike, options: { dir: string; includeFile?: string; size?: number }): Promise<NatsCluster> {
  const size = options.size ?? 3
  const names = Array.from({ length: size }, (_, i) => `n${i + 1}`)
  const ports = []
  for (const name of names) ports.push({ name, client: await freePort(), route: await freePort(), monitor: await freePort() })
  const routes = ports.map((p) => `"nats-route://127.0.0.1:${p.route}"`).join(', ')
  const specs = ports.map((p) => {
    const own = serviceDir(`nats-${p.name}`)
    const pidFile = path.join(options.dir, `nats-${p.name}.pid`)
    const conf = path.join(options.dir, `nats-${p.name}.conf`)
    const lines = [
      `server_name: ${p.name}`,
      `listen: 127.0.0.1:${p.client}`,
      `http: 127.0.0.1:${p.monitor}`,
      `pid_file: "${pidFile}"`,
      `jetstream { store_dir: "${path.join(own, 'jetstream')}" }`,
      `cluster { name: shoal, listen: 127.0.0.1:${p.route}, routes: [${routes}] }`,
      ...(options.includeFile ? [`include "${options.includeFile}"`] : []),
    ]
    writeFileSync(conf, `${lines.join('\n')}\n`)
    return { ...p, own, pidFile, conf }
  })
  const servers: NatsClusterServer[] = []
  for (const spec of specs) {
    const handle = await startService(t, {
      name: `nats-server-${spec.name}`,
      url: `nats://127.0.0.1:${spec.client}`,
      port: spec.client,
      dir: spec.own,
      command: 'nats-server',
      args: ['-c', spec.conf],
    })
    servers.push({ name: spec.name, handle, pidFile: spec.pidFile, monitorPort: spec.monitor })
  }
  const live = (): NatsClusterServer[] => servers.filter((s) => s.handle.pid !== undefined)
  /** The stream as its leader reports it (a follower's view of its peers can lag). */
  const streamDetail = async (stream: string): Promise<StreamDetail | null> => {
    for (const server of live()) {
      const jsz = await monitor<Jsz>(server.monitorPort, '/jsz?accounts=true&streams=true')
      for (const account of jsz?.account_details ?? [])
        for (const detail of account.stream_detail ?? []) if (detail.name === stream && detail.cluster?.leader === server.name) return detail
    }
    return null
  }
  const cluster: NatsCluster = {
    servers,
    url: servers.map((s) => s.handle.url).join(','),
    async metaLeader() {
      return waitFor(
        async () => {
          const leaders = await Promise.all(live().map(async (s) => (await monitor<Jsz>(s.monitorPort, '/jsz'))?.meta_cluster?.leader ?? ''))
          const first = leaders[0]
          return first && leaders.every((l) => l === first) ? first : undefined
        },
        { what: 'a JetStream meta leader every live server names', timeoutMs: 60_000, intervalMs: 200 },
      )
    },
    async streamLeader(stream) {
      return (await streamDetail(stream))?.cluster?.leader ?? null
    },
    async streamReplicas(stream) {
      const cluster = (await streamDetail(stream))?.cluster
      return cluster?.leader ? 1 + (cluster.replicas?.length ?? 0) : null
    },
    async streamCurrent(stream) {
      const cluster = (await streamDetail(stream))?.cluster
      if (!cluster?.leader) return false
      const current = new Set([cluster.leader, ...(cluster.replicas ?? []).filter((r) => r.current && !r.offline).map((r) => r.name)])
      return live().every((s) => current.has(s.name))
    },
    async serverOf(clientName) {
      for (const server of live()) {
        const connz = await monitor<{ connections?: readonly { name?: string }[] }>(server.monitorPort, '/connz?limit=10000')
        if (connz?.connections?.some((c) => c.name === clientName)) return server
      }
      return null
    },
    byName(name) {
      const server = servers.find((s) => s.name === name)
      if (!server) throw new Error(`no server ${name} in the cluster (${names.join(', ')})`)
      return server
    },
  }
  await cluster.metaLeader()
  return cluster
}
