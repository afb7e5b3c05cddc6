// The Docker Engine API client against a fake engine on a unix socket: what goes on the wire,
// and how answers and failures come back. The real engine is in test/integration/docker-runtime.test.ts.
import http from 'node:http'
import path from 'node:path'
import t from 'tap'
import { DockerEngineClient, DockerEngineError, dockerEndpoint, splitImageReference } from '../../agent/runtime/docker-engine-client.js'
import { toRuntimeError } from '../../agent/runtime/docker-errors.js'
import { tempDir, type TestLike } from '../support/index.js'

interface Seen {
  readonly method: string
  readonly url: URL
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

type Handler = (seen: Seen, response: http.ServerResponse) => void

/** A fake engine: every request is recorded and answered by `handler`. */
async function fakeEngine(t: TestLike, handler: Handler, timeoutMs?: number): Promise<{ client: DockerEngineClient; seen: Seen[]; socketPath: string }> {
  const socketPath = path.join(tempDir(t, 'engine'), 'docker.sock')
  const seen: Seen[] = []
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = []
    request.on('data', (chunk: Buffer) => chunks.push(chunk))
    request.on('end', () => {
      const record = {
        method: request.method ?? '',
        url: new URL(request.url ?? '/', 'http://engine'),
        headers: request.headers,
        body: Buffer.concat(chunks).toString(),
      }
      seen.push(record)
      handler(record, response)
    })
  })
  await new Promise<void>((resolve) => server.listen(socketPath, resolve))
  t.teardown(() => {
    server.closeAllConnections()
    return new Promise<void>((resolve) => server.close(() => resolve()))
  })
  return { client: new DockerEngineClient({ endpoint: { socketPath }, ...(timeoutMs !== undefined ? { timeoutMs } : {}) }), seen, socketPath }
}

function json(response: http.ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body))
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => undefined,
    (error: unknown) => error,
  )
}

t.test('the engine address: option, then DOCKER_HOST, then the default socket', async (t) => {
  t.same(dockerEndpoint('/run/user/1000/docker.sock', {}), { socketPath: '/run/user/1000/docker.sock' })
  t.same(dockerEndpoint('unix:///tmp/d.sock', { DOCKER_HOST: 'tcp://elsewhere:1' }), { socketPath: '/tmp/d.sock' }, 'the option wins')
  t.same(dockerEndpoint(undefined, { DOCKER_HOST: 'unix:///var/run/other.sock' }), { socketPath: '/var/run/other.sock' })
  t.same(dockerEndpoint(undefined, { DOCKER_HOST: 'tcp://10.0.0.5:2375' }), { host: '10.0.0.5', port: 2375 })
  t.same(dockerEndpoint(undefined, { DOCKER_HOST: 'tcp://engine.local' }), { host: 'engine.local', port: 2375 }, 'port 2375 by default')
  t.same(dockerEndpoint(undefined, { DOCKER_HOST: 'tcp://[::1]:2375' }), { host: '::1', port: 2375 })
  t.same(dockerEndpoint(undefined, {}), { socketPath: '/var/run/docker.sock' })
  t.same(dockerEndpoint(undefined, { DOCKER_HOST: '' }), { socketPath: '/var/run/docker.sock' })
  t.throws(() => dockerEndpoint(undefined, { DOCKER_HOST: 'ssh://me@host' }), /not supported/)
  t.throws(() => dockerEndpoint(undefined, { DOCKER_HOST: 'tcp://host:2376', DOCKER_TLS_VERIFY: '1' }), /plain HTTP only/)
  t.throws(() => dockerEndpoint('unix://', {}), /names no socket/)
})

t.test('image references split into fromImage and tag as dockerode split them', async (t) => {
  t.same(splitImageReference('busybox'), { repository: 'busybox', tag: 'latest' })
  t.same(splitImageReference('busybox:1.36'), { repository: 'busybox', tag: '1.36' })
  t.same(splitImageReference('registry.local:5000/team/app'), { repository: 'registry.local:5000/team/app', tag: 'latest' })
  t.same(splitImageReference('registry.local:5000/team/app:2'), { repository: 'registry.local:5000/team/app', tag: '2' })
  t.same(splitImageReference('app@sha256:abc'), { repository: 'app', tag: 'sha256:abc' })
})

t.test('requests: unversioned paths, filters as JSON, booleans as 1/0, name in the query', async (t) => {
  const { client, seen } = await fakeEngine(t, (request, response) => {
    if (request.url.pathname === '/containers/create') return json(response, 201, { Id: 'c-new', Warnings: [] })
    if (request.url.pathname === '/containers/json') return json(response, 200, [{ Id: 'c1' }])
    if (request.url.pathname.endsWith('/logs')) return response.writeHead(200).end(Buffer.from([1, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a]))
    return response.writeHead(204).end()
  })
  t.same(await client.listContainers({ label: ['io.shoal.node=n1'] }), [{ Id: 'c1' }])
  const list = seen[0]
  t.equal(list?.url.pathname, '/containers/json')
  t.equal(list?.url.searchParams.get('all'), '1')
  t.same(JSON.parse(list?.url.searchParams.get('filters') ?? ''), { label: ['io.shoal.node=n1'] })

  const id = await client.createContainer({
    name: 'web-1',
    Image: 'busybox',
    Labels: {},
    Env: ['A=1'],
    Tty: false,
    HostConfig: { RestartPolicy: { Name: 'no' }, NetworkMode: 'host' },
  })
  t.equal(id, 'c-new')
  const create = seen[1]
  t.equal(create?.method, 'POST')
  t.equal(create?.url.searchParams.get('name'), 'web-1')
  t.equal(create?.headers['content-type'], 'application/json')
  t.same(
    JSON.parse(create?.body ?? ''),
    { Image: 'busybox', Labels: {}, Env: ['A=1'], Tty: false, HostConfig: { RestartPolicy: { Name: 'no' }, NetworkMode: 'host' } },
    'the name is not in the body',
  )

  await client.removeContainer('c/1', { force: true, volumes: false })
  t.equal(seen[2]?.method, 'DELETE')
  t.equal(seen[2]?.url.pathname, '/containers/c%2F1', 'ids are escaped')
  t.equal(seen[2]?.url.search, '?force=1&v=0')

  const bytes = await client.containerLogs('c1', { stdout: true, stderr: true, timestamps: false, tail: 5, since: '12.500' })
  t.same([...bytes], [1, 0, 0, 0, 0, 0, 0, 3, 0x68, 0x69, 0x0a], 'the raw multiplexed bytes')
  t.equal(seen[3]?.url.search, '?stdout=1&stderr=1&timestamps=0&tail=5&since=12.500&follow=0')
})

t.test('start and stop: 304 (already so) counts as done; stop waits out its grace period', async (t) => {
  const { client, seen } = await fakeEngine(t, (request, response) => response.writeHead(request.url.pathname.includes('running') ? 304 : 204).end(), 100)
  await client.startContainer('running')
  await client.startContainer('fresh')
  await client.stopContainer('running', 0)
  t.equal(seen[2]?.url.search, '?t=0')
  t.equal(seen.length, 3)
})

t.test('engine errors carry the status and the engine message, and map to RuntimeError codes', async (t) => {
  const { client } = await fakeEngine(t, (request, response) => {
    if (request.url.pathname.includes('missing')) return json(response, 404, { message: 'No such container: missing' })
    if (request.url.pathname.includes('taken')) return json(response, 409, { message: 'Conflict. The container name "/x" is already in use' })
    return response.writeHead(500, { 'Content-Type': 'text/plain' }).end('page on fire\n')
  })
  const missing = await rejection(client.inspectContainer('missing'))
  t.type(missing, DockerEngineError)
  t.match(missing, { statusCode: 404, message: 'No such container: missing', request: 'GET /containers/missing/json', code: undefined })
  t.match(toRuntimeError(missing, 'inspect missing', 'failed'), {
    code: 'not-found',
    message: 'inspect missing: No such container: missing',
    context: { httpStatus: '404' },
  })
  t.match(toRuntimeError(await rejection(client.startContainer('taken')), 'start taken', 'failed'), { code: 'conflict' })
  const plain = await rejection(client.version())
  t.match(plain, { statusCode: 500, message: 'page on fire' }, 'a text body is the message')
  t.match(toRuntimeError(plain, 'read the version', 'failed'), { code: 'failed' })
})

t.test('no engine on the socket: a socket error that maps to unavailable', async (t) => {
  const client = new DockerEngineClient({ endpoint: { socketPath: path.join(tempDir(t), 'none.sock') } })
  const error = await rejection(client.version())
  t.match(error, { name: 'DockerEngineError', code: 'ENOENT', statusCode: undefined })
  t.match(toRuntimeError(error, 'read the version', 'failed'), { code: 'unavailable', message: /unreachable \(ENOENT/ })
})

t.test('a silent engine times out and counts as unavailable', async (t) => {
  const { client } = await fakeEngine(t, () => undefined, 150)
  // The fake engine never answers: the rejection is the client's own timeout, as its message says.
  const error = await rejection(client.info())
  t.match(error, { name: 'DockerEngineError', code: 'ETIMEDOUT', message: /did not answer GET \/info within 150 ms/ })
  t.match(toRuntimeError(error, 'read the engine info', 'failed'), { code: 'unavailable' })
})

t.test('a body cut off mid-answer is a socket error', async (t) => {
  const { client } = await fakeEngine(t, (_request, response) => {
    response.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '100' })
    response.write('[{"Id":')
    setTimeout(() => response.destroy(), 20)
  })
  const error = await rejection(client.listImages())
  t.type(error, DockerEngineError)
  t.equal((error as DockerEngineError).statusCode, undefined)
  t.match(toRuntimeError(error, 'list images', 'failed'), { code: 'unavailable' })
})

t.test('pulls always send X-Registry-Auth, {} without credentials, and never time out', async (t) => {
  const { client, seen } = await fakeEngine(
    t,
    (_request, response) => {
      response.writeHead(200, { 'Content-Type': 'application/json' })
      response.write('{"status":"Pulling"}\n')
      // Longer than the client's timeout: a pull takes what it takes.
      setTimeout(() => response.end('{"status":"Done"}\n'), 300)
    },
    100,
  )
  const text = async (stream: AsyncIterable<Buffer>): Promise<string> => {
    let out = ''
    for await (const chunk of stream) out += chunk.toString()
    return out
  }
  t.equal(await text(await client.pullImage('registry.local:5000/app:2', undefined)), '{"status":"Pulling"}\n{"status":"Done"}\n')
  const anonymous = seen[0]
  t.equal(anonymous?.url.search, `?fromImage=${encodeURIComponent('registry.local:5000/app')}&tag=2`)
  t.equal(anonymous?.headers['x-registry-auth'], 'e30=', 'base64url of {}')

  await text(await client.pullImage('app', { username: 'u', password: 'p?>~', serveraddress: 'docker.io' }))
  const header = String(seen[1]?.headers['x-registry-auth'])
  t.notMatch(header, /[+/]/, 'URL-safe alphabet')
  t.same(JSON.parse(Buffer.from(header, 'base64url').toString()), { username: 'u', password: 'p?>~', serveraddress: 'docker.io' })
})

t.test('a stream the engine refuses fails with its status; a stream ends when the signal aborts', async (t) => {
  const { client, seen } = await fakeEngine(
    t,
    (request, response) => {
      if (request.url.pathname.includes('gone')) return json(response, 404, { message: 'No such container: gone' })
      response.writeHead(200, { 'Content-Type': 'application/json' })
      response.write('{"Action":"start"}\n')
      // then silence, as a quiet engine
    },
    100,
  )
  await t.rejects(client.followContainerLogs('gone', { stdout: true, stderr: true, timestamps: false }), {
    statusCode: 404,
    message: 'No such container: gone',
  })

  const abort = new AbortController()
  const events = await client.events({ type: ['container'] }, 1700000000, abort.signal)
  t.equal(seen[1]?.url.searchParams.get('since'), '1700000000')
  const received: string[] = []
  // The fake engine keeps the stream open: the loop ends only because the abort ended it.
  try {
    for await (const chunk of events) {
      received.push(chunk.toString())
      setTimeout(() => abort.abort(), 300) // past the 100 ms timeout: streams have none once open
    }
  } catch {
    // An aborted response may end in an error ("aborted"): callers look at the signal, not at it.
  }
  t.same(received, ['{"Action":"start"}\n'])
  t.ok(abort.signal.aborted, 'ended at the abort')
  t.ok(events.destroyed)
})
