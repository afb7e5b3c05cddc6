import t from 'tap'
import { MAX_RETRY_AFTER_MS, jitteredRetryAfterMs, parseRetryAfterMs } from '../../agent/transport/retry-after.js'

const NOW = Date.parse('2026-03-01T12:00:00.000Z')

t.test('Retry-After in seconds, or as an HTTP date', async (t) => {
  t.equal(parseRetryAfterMs('3', NOW), 3_000)
  t.equal(parseRetryAfterMs(' 0 ', NOW), 0)
  t.equal(parseRetryAfterMs('Sun, 01 Mar 2026 12:00:07 GMT', NOW), 7_000)
  t.equal(parseRetryAfterMs('Sun, 01 Mar 2026 11:59:00 GMT', NOW), 0, 'a date passed: at once')
})

t.test('absent or unreadable: null, so the caller uses its own backoff', async (t) => {
  for (const header of [undefined, '', 'soon', '-5', '1.5', '12345678901234567890x']) t.equal(parseRetryAfterMs(header, NOW), null, JSON.stringify(header))
})

t.test('a hub asking for very long is waited on for the cap at most', async (t) => {
  t.equal(parseRetryAfterMs('86400', NOW), MAX_RETRY_AFTER_MS)
  t.equal(parseRetryAfterMs('Mon, 02 Mar 2026 12:00:00 GMT', NOW), MAX_RETRY_AFTER_MS)
})

t.test('the jittered wait is never shorter than asked, and at most half again and a second longer', async (t) => {
  t.equal(
    jitteredRetryAfterMs(4_000, () => 0),
    4_000,
  )
  t.equal(
    jitteredRetryAfterMs(4_000, () => 0.999999),
    6_999,
  )
  t.equal(
    jitteredRetryAfterMs(0, () => 0.5),
    500,
    'even "now" is spread over a second',
  )
  const waits = Array.from({ length: 200 }, (_, i) => jitteredRetryAfterMs(2_000, () => i / 200))
  t.ok(
    waits.every((w) => w >= 2_000 && w < 4_000),
    'within [asked, asked * 1.5 + 1 s)',
  )
  t.equal(new Set(waits).size, 200, 'nodes told the same time come back at different times')
})
