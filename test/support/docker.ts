import Docker from 'dockerode'
import type { TestLike } from './types.js'
import { waitFor } from './wait.js'

let client: Docker | undefined

/** One dockerode client per test process (DOCKER_HOST or /var/run/docker.sock). */
export function dockerClient(): Docker {
  client ??= new Docker()
  return client
}

const statusOf = (err: unknown): number | undefined => (typeof err === 'object' && err !== null && 'statusCode' in err ? Number(err.statusCode) : undefined)

/**
 * Force-remove every container carrying `label` ("key" or "key=value") now.
 * With a test, do it again when the test ends, pass or fail.
 * Resolves to how many were removed now.
 */
export async function removeContainersByLabel(label: string): Promise<number>
export async function removeContainersByLabel(t: TestLike | undefined, label: string): Promise<number>
export async function removeContainersByLabel(a: TestLike | string | undefined, b?: string): Promise<number> {
  const label = typeof a === 'string' ? a : b
  if (!label) throw new Error('removeContainersByLabel needs a label')
  if (a && typeof a !== 'string') a.teardown(() => removeContainersByLabel(label))
  const docker = dockerClient()
  const found = await docker.listContainers({ all: true, filters: { label: [label] } })
  let removed = 0
  for (const c of found) {
    try {
      await docker.getContainer(c.Id).remove({ force: true, v: true })
      removed++
    } catch (err) {
      // Already gone (404) or being removed by someone else (409): fine.
      const code = statusOf(err)
      if (code !== 404 && code !== 409) throw err
    }
  }
  return removed
}

/** Pull an image and wait for the end; resolves to the progress events. */
export async function pullImage(ref: string): Promise<Array<Record<string, unknown>>> {
  const docker = dockerClient()
  const stream = await docker.pull(ref)
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(stream, (err: Error | null, events: Array<Record<string, unknown>>) => {
      if (err) return reject(err)
      // A failed pull can also arrive as an error event inside the stream.
      const failed = events.find((e) => typeof e.error === 'string')
      if (failed) return reject(new Error(String(failed.error)))
      resolve(events)
    })
  })
}

/**
 * Pushes a local image to a registry and waits for the end; resolves to the error the push
 * reported, if any (a failed push arrives as an event inside the stream). The engine wants an
 * X-Registry-Auth header even for a registry without auth, so the address always goes in it.
 */
export async function pushImage(ref: string, registry: string, auth: { username?: string; password?: string } = {}): Promise<string | undefined> {
  const docker = dockerClient()
  const stream = await docker.getImage(ref).push({ authconfig: { ...auth, serveraddress: registry } })
  const events: Array<{ error?: string }> = await new Promise((resolve, reject) =>
    docker.modem.followProgress(stream, (err: Error | null, out: Array<{ error?: string }>) => (err ? reject(err) : resolve(out))),
  )
  return events.find((event) => event.error)?.error
}

/** SIGKILLs a container as a crash would; the returned check is true once something has started it again. */
export async function crashContainer(id: string): Promise<() => Promise<boolean>> {
  const container = dockerClient().getContainer(id)
  const startedBefore = (await container.inspect()).State.StartedAt
  await container.kill()
  return async () => {
    const { State } = await container.inspect()
    return State.Running && State.StartedAt !== startedBefore
  }
}

/**
 * Resolves once an engine event subscription is live. The engine streams events only from when
 * it received the subscription, so a container made before that goes unseen: create and remove a
 * canary until its events arrive (each try bounded, a few tries in all), then drop the canaries'
 * events from `events` so the test sees only its own.
 */
export async function untilEventsFlow(
  events: { readonly containerId: string; readonly action: string }[],
  canary: { create(): Promise<string>; remove(id: string): Promise<void> },
  attempts = 10,
): Promise<void> {
  const ids = new Set<string>()
  for (let attempt = 1; ; attempt++) {
    const id = await canary.create()
    ids.add(id)
    await canary.remove(id)
    const seen = await waitFor(() => events.some((event) => event.containerId === id), { what: 'a canary event', timeoutMs: 2_000, intervalMs: 20 }).then(
      () => true,
      () => false,
    )
    if (seen) break
    if (attempt >= attempts) throw new Error(`the event subscription saw none of ${attempts} canary containers`)
  }
  // Its later events (destroy after create) may still be on their way: wait for the last one too.
  const last = [...ids].at(-1)
  await waitFor(() => events.some((event) => event.containerId === last && event.action === 'destroy'), {
    what: "the canary's destroy event",
    timeoutMs: 10_000,
    intervalMs: 20,
  })
  for (let i = events.length - 1; i >= 0; i--) if (ids.has(events[i]?.containerId ?? '')) events.splice(i, 1)
}
