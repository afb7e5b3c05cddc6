import type { AddressInfo } from 'node:net'
import pino from 'pino'
import t from 'tap'
import { Router } from '../../hub/api/router.js'
import { createApiServer } from '../../hub/api/server.js'
import type { TestLike } from '../support/types.js'

// The API server's front door over real HTTP on loopback: authentication before anything else,
// client errors answered as 4xx without an error-level log.

const TOKEN = 'a-token-of-some-length'

async function startServer(t: TestLike): Promise<{ url: string; errors: unknown[] }> {
  const errors: unknown[] = []
  const logger = pino({ level: 'warn' }, { write: (line: string) => void errors.push(JSON.parse(line)) })
  const router = new Router()
    .add('GET', '/healthz', () => ({ ok: true }), { public: true })
    .add('GET', '/api/v1/nodes/:id', (context) => ({ id: context.params.id }))
  const server = createApiServer({ router, adminToken: TOKEN, logger, maxBodyBytes: 1024 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, errors }
}

const auth = { authorization: `Bearer ${TOKEN}` }

t.test('without the token, unknown routes and malformed paths answer 401, not 404, 405 or 500', async (t) => {
  const { url, errors } = await startServer(t)
  for (const [method, path] of [
    ['GET', '/api/v1/nope'],
    ['DELETE', '/api/v1/nodes/a'],
    ['GET', '/api/v1/nodes/%E0%A4%A'],
  ] as const) {
    const response = await fetch(url + path, { method })
    t.equal(response.status, 401, `${method} ${path}`)
    t.equal(response.headers.get('www-authenticate'), 'Bearer')
  }
  t.equal((await fetch(`${url}/healthz`)).status, 200, 'a public route still answers anyone')
  t.same(errors, [], 'nothing logged at warn or above')
})

t.test('with the token: a malformed percent-escape is a 400 naming the parameter; unknown is 404; wrong method 405', async (t) => {
  const { url, errors } = await startServer(t)
  const malformed = await fetch(`${url}/api/v1/nodes/%E0%A4%A`, { headers: auth })
  t.equal(malformed.status, 400)
  t.match(await malformed.json(), { error: { code: 'bad-request', message: /id .*malformed percent-escape/ } })
  t.equal((await fetch(`${url}/api/v1/nope`, { headers: auth })).status, 404)
  t.equal((await fetch(`${url}/api/v1/nodes/a`, { method: 'DELETE', headers: auth })).status, 405)
  t.same(await (await fetch(`${url}/api/v1/nodes/pi%2D1`, { headers: auth })).json(), { id: 'pi-1' }, 'a good escape decodes')
  t.same(errors, [], 'no error-level log, no stack trace, for client errors')
})
