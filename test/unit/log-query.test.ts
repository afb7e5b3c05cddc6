import t from 'tap'
import { ApiError } from '../../hub/api/http-errors.js'
import { DEFAULT_TAIL, parseLogQuery, parseSince } from '../../hub/api/log-query.js'
import { logTargets } from '../../hub/logs/log-targets.js'

const NOW = Date.parse('2025-03-01T12:00:00.000Z')
const q = (text: string) => parseLogQuery(new URLSearchParams(text), NOW)

t.test('without tail or since, the last 1000 lines, no follow', async (t) => {
  t.same(q(''), { node: null, container: null, follow: false, followSeconds: 600, tail: DEFAULT_TAIL })
})

t.test('reads node, tail, follow and its bound', async (t) => {
  t.same(q('node=pi-1&tail=20&follow=true&followSeconds=30'), { node: 'pi-1', container: null, follow: true, followSeconds: 30, tail: 20 })
  t.same(q('tail=0'), { node: null, container: null, follow: false, followSeconds: 600, tail: 0 })
  t.equal(q('follow=1').follow, true)
  t.equal(q('follow=false').follow, false)
})

t.test('since is a duration back from now or an RFC 3339 time, and then tail is not implied', async (t) => {
  t.same(q('since=10m'), { node: null, container: null, follow: false, followSeconds: 600, since: '2025-03-01T11:50:00.000Z' })
  t.equal(parseSince('1h30m', NOW), '2025-03-01T10:30:00.000Z')
  t.equal(parseSince('2025-02-28T00:00:00+01:00', NOW), '2025-02-28T00:00:00+01:00')
  t.same(q('since=10m&tail=5'), { node: null, container: null, follow: false, followSeconds: 600, since: '2025-03-01T11:50:00.000Z', tail: 5 })
})

t.test('refuses bad values with a 400 that says what is allowed', async (t) => {
  for (const [query, pattern] of [
    ['tail=-1', /tail must be a whole number of lines from 0 to 10000/],
    ['tail=abc', /tail must be/],
    ['tail=10001', /tail must be/],
    ['tail=1.5', /tail must be/],
    ['since=yesterday', /since must be a duration such as 10m or 2h, or an RFC 3339 time/],
    ['follow=maybe', /follow must be true or false/],
    ['followSeconds=0', /followSeconds must be between 1 and 600/],
    ['followSeconds=601', /followSeconds must be between 1 and 600/],
  ] as const) {
    let caught: unknown
    try {
      q(query)
    } catch (error) {
      caught = error
    }
    t.ok(caught instanceof ApiError && caught.status === 400, `${query}: a 400`)
    t.match((caught as Error | undefined)?.message, pattern, query)
  }
})

t.test('targets: placements and reported workloads, one each, filtered by node', async (t) => {
  const placements = [
    { nodeId: 'pi-2', workload: 'web' },
    { nodeId: 'pi-1', workload: 'web' },
  ]
  const reported = [
    { nodeId: 'pi-1', name: 'web' },
    { nodeId: 'pi-3', name: 'web' },
  ]
  t.same(logTargets(placements, reported, null), [
    { nodeId: 'pi-1', workload: 'web' },
    { nodeId: 'pi-2', workload: 'web' },
    { nodeId: 'pi-3', workload: 'web' },
  ])
  t.same(logTargets(placements, reported, 'pi-3'), [{ nodeId: 'pi-3', workload: 'web' }])
  t.same(logTargets(placements, reported, 'pi-9'), [])
  t.same(logTargets([], [], null), [])
})

t.test('container: one container of a several-container copy, by its name', async (t) => {
  t.equal(q('container=migrate').container, 'migrate')
  t.throws(() => q('container=Bad_Name'), /container must be a container's name .*"Bad_Name"/)
})
