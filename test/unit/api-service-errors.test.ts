// The API's map from the services' typed errors to HTTP answers (hub/api/service-errors.ts):
// status, code and message per error, Retry-After for a throttled enrollment, anything else as it is.
import t from 'tap'
import { ApiError } from '../../hub/api/http-errors.js'
import { answer, httpErrorOf } from '../../hub/api/service-errors.js'
import { ManifestsRefusedError } from '../../hub/deployments/read-manifests.js'
import { EnrollmentBusyError, EnrollmentThrottledError } from '../../hub/enrollment/enrollment-service.js'
import { RolloutActionError } from '../../hub/rollout/rollout-actions.js'
import { DeploymentNotFoundError, JoinTokenNotFoundError, NodeNotFoundError } from '../../hub/store/not-found.js'
import { TokenRefusedError } from '../../hub/store/token-repository.js'

const http = (error: unknown) => {
  const mapped = httpErrorOf(error)
  return mapped instanceof ApiError ? { status: mapped.status, code: mapped.code, message: mapped.message, details: mapped.details } : mapped
}

t.test('each typed error has its answer', async (t) => {
  t.same(http(new NodeNotFoundError('n1')), { status: 404, code: 'not-found', message: 'node n1 not found', details: undefined })
  t.same(http(new DeploymentNotFoundError('web')), { status: 404, code: 'not-found', message: 'deployment web not found', details: undefined })
  t.same(http(new JoinTokenNotFoundError('abc')), { status: 404, code: 'not-found', message: 'join token abc not found', details: undefined })
  t.same(http(new ManifestsRefusedError('1 problem(s)', [{ documentIndex: 0, path: 'spec', message: 'bad' }])), {
    status: 400,
    code: 'bad-request',
    message: '1 problem(s)',
    details: [{ documentIndex: 0, path: 'spec', message: 'bad' }],
  })
  t.same(http(new ManifestsRefusedError('no manifests in the request body')), {
    status: 400,
    code: 'bad-request',
    message: 'no manifests in the request body',
    details: undefined,
  })
  t.match(http(new RolloutActionError('pause', 'web', 'it has no rollout yet')), { status: 409, code: 'rollout-conflict' })
  t.same(http(new TokenRefusedError('expired')), { status: 403, code: 'token-refused', message: 'expired', details: undefined })
  t.same(http(new EnrollmentThrottledError('1.2.3.4', 7)), {
    status: 429,
    code: 'too-many-failed-enrollments',
    message: 'too many failed enrollments from 1.2.3.4; try again in 7 s',
    details: undefined,
  })
  t.same(http(new EnrollmentBusyError(50, 3)), {
    status: 429,
    code: 'enrollment-rate-limited',
    message: "the hub admits 50 enrollments per second and is taking in a burst; try again in 3 s (the hub's limit is shoal hub serve --enroll-rate)",
    details: undefined,
  })
})

t.test('any other error, and an ApiError from reading the request, pass as they are', async (t) => {
  const plain = new Error('disk on fire')
  t.equal(httpErrorOf(plain), plain)
  const api = new ApiError(413, 'too-large', 'big')
  t.equal(httpErrorOf(api), api)
})

t.test('answer returns the result, maps a failure, and sets Retry-After for a throttled enrollment', async (t) => {
  t.equal(await answer(() => 42), 42)
  const headers = new Map<string, string>()
  const res = { setHeader: (name: string, value: string) => void headers.set(name, value) }
  t.match(await answer(() => Promise.reject(new EnrollmentThrottledError('1.2.3.4', 7)), res).catch((e: unknown) => e), { status: 429 })
  t.same([...headers], [['Retry-After', '7']])
  t.match(await answer(() => Promise.reject(new NodeNotFoundError('n1')), res).catch((e: unknown) => e), { status: 404 })
  t.equal(headers.size, 1, 'only a throttled enrollment says when to come back')
  t.match(await answer(() => Promise.reject(new EnrollmentBusyError(50, 3)), res).catch((e: unknown) => e), { status: 429, code: 'enrollment-rate-limited' })
  t.same([...headers], [['Retry-After', '3']], 'and a rate-limited one')
})
