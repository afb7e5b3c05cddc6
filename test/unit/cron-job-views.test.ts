// What the hub answers for a cron job (hub/cron-jobs/cron-job-views.ts): per node that carries it
// or reported on it, the next firing and what it reported; pure.
import t from 'tap'
import { cronJobDetail, cronJobView } from '../../hub/cron-jobs/cron-job-views.js'
import type { CronJobRecord, CronNodeHistory } from '../../hub/store/cron-job-repository.js'
import { ZoneClocks } from '../../protocol/cron/time-zone.js'
import { CronJob } from '../../protocol/index.js'

const NOW = Date.parse('2030-01-01T12:00:30.000Z')
const record = (timeZone: string): CronJobRecord => ({
  name: 'backup',
  revision: 2,
  manifest: CronJob.parse({
    apiVersion: 'shoal/v1',
    kind: 'CronJob',
    metadata: { name: 'backup', labels: { team: 'data' } },
    spec: { schedule: '*/10 * * * *', timeZone, jobTemplate: { template: { image: 'busybox' } } },
  }),
  createdAt: '2030-01-01T00:00:00.000Z',
  updatedAt: '2030-01-01T00:00:00.000Z',
})
const run = (nodeId: string, minute: number, outcome: 'succeeded' | 'failed') => ({
  nodeId,
  workload: `cron-backup-${minute}`,
  scheduledAt: `2030-01-01T11:${String(minute).padStart(2, '0')}:00.000Z`,
  attempt: 1,
  outcome,
  exitCode: outcome === 'succeeded' ? 0 : 1,
  reason: outcome === 'succeeded' ? null : 'NonZeroExit',
  startedAt: `2030-01-01T11:${String(minute).padStart(2, '0')}:00.000Z`,
  finishedAt: `2030-01-01T11:${String(minute).padStart(2, '0')}:05.000Z`,
})
const history = new Map<string, CronNodeHistory>([
  ['a', { runs: [run('a', 50, 'succeeded')], lapses: [], skipped: 0, missed: 0 }],
  [
    'gone',
    {
      runs: [run('gone', 40, 'failed')],
      lapses: [{ nodeId: 'gone', kind: 'missed', scheduledAt: '2030-01-01T11:30:00.000Z', reason: 'superseded', count: 3 }],
      skipped: 0,
      missed: 3,
    },
  ],
])

t.test('the list line: schedule, nodes carrying it, the latest run any node reported', async (t) => {
  t.match(cronJobView(record('UTC'), ['a', 'b'], history), {
    name: 'backup',
    labels: { team: 'data' },
    revision: 2,
    schedule: '*/10 * * * *',
    nodes: 2,
    lastRun: { nodeId: 'a', scheduledAt: '2030-01-01T11:50:00.000Z', outcome: 'succeeded', exitCode: 0 },
  })
  t.equal(cronJobView(record('UTC'), [], new Map()).lastRun, null)
})

t.test('per node: those carrying it with their next firing, and one that no longer does with its reports only', async (t) => {
  const nodes = new Map([
    ['a', { id: 'a', online: true, timeZone: 'Asia/Tokyo' }],
    ['b', { id: 'b', online: false, timeZone: null }],
  ])
  const utc = cronJobDetail(record('UTC'), ['b', 'a'], history, nodes, NOW, new ZoneClocks())
  t.same(
    utc.perNode.map((n) => [n.nodeId, n.placed, n.online, n.zone, n.nextFireAt, n.runs.length, n.missed]),
    [
      ['a', true, true, 'UTC', '2030-01-01T12:10:00.000Z', 1, 0],
      ['b', true, false, 'UTC', '2030-01-01T12:10:00.000Z', 0, 0],
      ['gone', false, false, 'UTC', null, 1, 3],
    ],
  )
  t.notOk('nodeId' in (utc.perNode[0]?.runs[0] ?? {}), 'a run is shown under its node, without repeating it')
  const local = cronJobDetail(record('local'), ['a', 'b'], history, nodes, NOW, new ZoneClocks())
  t.same(
    local.perNode.slice(0, 2).map((n) => [n.zone, n.nextFireAt]),
    [
      ['Asia/Tokyo', '2030-01-01T12:10:00.000Z'],
      ['node-local', null],
    ],
    'timeZone local: in the zone the node reported, or node-local',
  )
})
