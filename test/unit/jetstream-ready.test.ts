import t from 'tap'
import { isJetStreamNotAnswering, JetStreamNotAnsweringError, whenJetStreamAnswers } from '../../hub/transport/jetstream-ready.js'

/** nats.js errors carry their code as a string; these stand for the ones a real server gives. */
const natsError = (code: string, message = `nats ${code}`) => Object.assign(new Error(message), { code })

/** A hand-driven clock: sleep advances it, so no test waits. */
function handTime() {
  let at = 0
  const sleeps: number[] = []
  return {
    now: () => at,
    sleep: async (ms: number) => {
      sleeps.push(ms)
      at += ms
    },
    sleeps,
  }
}
const quiet = { warn: () => undefined }

t.test('not answering: no responders / not enabled (503), a timeout, a reconnect; anything else is a refusal', async (t) => {
  for (const code of ['503', 'TIMEOUT', 'DISCONNECT']) t.ok(isJetStreamNotAnswering(natsError(code)), code)
  for (const code of ['CONNECTION_CLOSED', '400', '10074', 'PERMISSIONS_VIOLATION']) t.notOk(isJetStreamNotAnswering(natsError(code)), code)
  t.notOk(isJetStreamNotAnswering(new Error('plain')))
  t.notOk(isJetStreamNotAnswering(null))
  t.notOk(isJetStreamNotAnswering({ code: 503 }), 'a number is not a nats.js code')
})

t.test('retries while JetStream does not answer, backing off 250 ms doubling to 5 s, and returns the first answer', async (t) => {
  const time = handTime()
  let calls = 0
  const value = await whenJetStreamAnswers(
    'opening',
    async () => {
      calls++
      if (calls < 8) throw natsError(calls % 2 ? '503' : 'TIMEOUT')
      return 'bucket'
    },
    { logger: quiet, ...time },
  )
  t.equal(value, 'bucket')
  t.equal(calls, 8)
  t.same(time.sleeps, [250, 500, 1000, 2000, 4000, 5000, 5000])
})

t.test('a refusal is thrown at once, untouched', async (t) => {
  const time = handTime()
  const refusal = natsError('10074', 'replicas > 1 not supported in non-clustered mode')
  await t.rejects(
    whenJetStreamAnswers(
      'opening',
      async () => {
        throw refusal
      },
      { logger: quiet, ...time },
    ),
    refusal,
  )
  t.same(time.sleeps, [])
})

t.test('past the wait, it gives up saying what to check; the last sleep never overshoots the wait', async (t) => {
  const time = handTime()
  const error = await whenJetStreamAnswers(
    'opening the desired-state bucket',
    async () => {
      throw natsError('503', '503')
    },
    { logger: quiet, waitMs: 12_000, ...time },
  ).catch((e: unknown) => e)
  t.ok(error instanceof JetStreamNotAnsweringError)
  t.match(
    (error as Error).message,
    /^JetStream did not answer for 12 s \(opening the desired-state bucket: 503\): is nats-server running with JetStream \(-js\)/,
  )
  t.same(time.sleeps, [250, 500, 1000, 2000, 4000, 4250])
  t.equal(time.now(), 12_000)
})
