// When the hub says a node next fires a cron job (hub/cron-jobs/cron-next-fire.ts): in the job's
// zone, or for `timeZone: local` in the zone the node reported; pure.
import t from 'tap'
import { NODE_LOCAL, nextFireOnNode } from '../../hub/cron-jobs/cron-next-fire.js'
import { ZoneClocks } from '../../protocol/cron/time-zone.js'

const zones = new ZoneClocks()
const at = (iso: string): number => Date.parse(iso)
const spec = (schedule: string, timeZone: string, suspend = false) => ({ schedule, timeZone, suspend })

t.test('a named zone: the next firing after now, whatever zone the node is in', async (t) => {
  t.same(nextFireOnNode(spec('*/5 * * * *', 'UTC'), 'Asia/Tokyo', at('2030-01-01T12:03:10Z'), zones), { zone: 'UTC', nextFireAt: '2030-01-01T12:05:00.000Z' })
  t.same(
    nextFireOnNode(spec('*/5 * * * *', 'UTC'), null, at('2030-01-01T12:05:00Z'), zones),
    { zone: 'UTC', nextFireAt: '2030-01-01T12:10:00.000Z' },
    'strictly after now',
  )
  t.same(nextFireOnNode(spec('0 2 * * *', 'Europe/Berlin'), null, at('2030-01-01T12:00:00Z'), zones), {
    zone: 'Europe/Berlin',
    nextFireAt: '2030-01-02T01:00:00.000Z',
  })
})

t.test('across a clock change, as the agent fires it (docs/jobs.md)', async (t) => {
  // New York, 2026-03-08: 02:00 EST becomes 03:00 EDT at 07:00 UTC; a 02:30 job fires at 03:00 EDT.
  t.same(nextFireOnNode(spec('30 2 * * *', 'America/New_York'), null, at('2026-03-08T06:00:00Z'), zones), {
    zone: 'America/New_York',
    nextFireAt: '2026-03-08T07:00:00.000Z',
  })
})

t.test("timeZone local: the node's reported zone; node-local when it reported none, or one this runtime does not know", async (t) => {
  t.same(nextFireOnNode(spec('0 2 * * *', 'local'), 'Asia/Tokyo', at('2030-01-01T12:00:00Z'), zones), {
    zone: 'Asia/Tokyo',
    nextFireAt: '2030-01-01T17:00:00.000Z',
  })
  t.same(nextFireOnNode(spec('0 2 * * *', 'local'), null, at('2030-01-01T12:00:00Z'), zones), { zone: NODE_LOCAL, nextFireAt: null })
  t.same(nextFireOnNode(spec('0 2 * * *', 'local'), 'Mars/Olympus', at('2030-01-01T12:00:00Z'), zones), { zone: NODE_LOCAL, nextFireAt: null })
})

t.test('suspended or never firing: no next firing', async (t) => {
  t.same(nextFireOnNode(spec('0 2 * * *', 'UTC', true), null, at('2030-01-01T12:00:00Z'), zones), { zone: 'UTC', nextFireAt: null })
  t.same(nextFireOnNode(spec('0 0 30 2 *', 'UTC'), null, at('2030-01-01T12:00:00Z'), zones), { zone: 'UTC', nextFireAt: null })
  t.same(
    nextFireOnNode(spec('0 0 29 2 *', 'UTC'), null, at('2030-01-01T12:00:00Z'), zones),
    { zone: 'UTC', nextFireAt: '2032-02-29T00:00:00.000Z' },
    'a leap day',
  )
})
