// The hub keeps its own time (issue 20 item 2): two real agents whose clocks libfaketime puts 25
// years behind and 3 years ahead (boards without an RTC), a real hub. The API and the CLI show
// ClockSkew with the right sign and size, last seen and ages on the hub's clock, the node's own
// times beside them, events in the order the hub received them, a metric, and the end of the
// skew when the clock is fixed.
import { existsSync } from 'node:fs'
import path from 'node:path'
import t from 'tap'
import { testImage, tempDir, waitFor } from '../support/index.js'
import { uniqueNodeId, waitForRunning } from '../support/agent-process.js'
import { deploymentYaml, sleepTemplate, startHubAgent, startHubProcess, type HubEvent } from '../support/hub-process.js'
import { cliOk, tableCells } from './cli-harness.js'

t.setTimeout(240_000)

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'
const DAY_S = 86_400
const faketime = (offset: string) => ({ LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1' })

process.env.SHOAL_CONFIG = path.join(tempDir(t, 'clock-skew-cli'), 'config.yaml')
delete process.env.SHOAL_HUB
delete process.env.SHOAL_TOKEN

type Event = HubEvent & { readonly receivedAt: string }

t.test('nodes 25 years behind and 3 years ahead: ClockSkew, hub-time ages and event order', async (t) => {
  t.ok(existsSync(LIBFAKETIME), `libfaketime is installed (${LIBFAKETIME}; Debian package faketime)`)
  const image = testImage()
  const hub = await startHubProcess(t, { extraArgs: ['--clock-skew-threshold', '2m'] })
  const connection = ['--hub', hub.apiUrl, '--token', hub.adminToken]
  const fleet = uniqueNodeId('skew')
  const token = await hub.createJoinToken({ maxUses: 2, ttl: '10m', labels: { fleet } })
  const [past, future] = await Promise.all([
    startHubAgent(t, hub, { name: uniqueNodeId('past'), token }),
    startHubAgent(t, hub, { name: uniqueNodeId('future'), token }),
  ])
  const ids = { past: past.nodeId, future: future.nodeId }
  await waitFor(async () => (await hub.nodes()).filter((n) => n.online && n.usage !== null).length === 2, {
    what: 'both nodes online with a heartbeat',
    timeoutMs: 60_000,
  })
  t.same(
    (await hub.nodes()).map((n) => n.clock.skewed),
    [false, false],
    'in step while their clocks are right',
  )

  // The boards reboot without an RTC: the same agents, their clocks now years off.
  await Promise.all([past.stop(), future.stop()])
  const started = Date.now()
  await Promise.all([past.start({ env: faketime('-25y') }), future.start({ env: faketime('+3y') })])

  const skewed = await waitFor(
    async () => {
      const nodes = await hub.nodes()
      return nodes.length === 2 && nodes.every((n) => n.online && n.clock.skewed) ? new Map(nodes.map((n) => [n.id as string, n])) : undefined
    },
    { what: 'ClockSkew on both nodes', timeoutMs: 90_000, intervalMs: 500 },
  )
  const behind = skewed.get(ids.past)
  const ahead = skewed.get(ids.future)
  const near = (actual: number, expected: number, slackSeconds: number): boolean => Math.abs(actual - expected) <= slackSeconds
  t.ok(near(behind.clock.offsetSeconds, -9125 * DAY_S, 60), `25 years behind: ${behind.clock.offsetSeconds} s`)
  t.ok(near(ahead.clock.offsetSeconds, 1095 * DAY_S, 60), `3 years ahead: ${ahead.clock.offsetSeconds} s`)
  t.equal(behind.condition.type, 'Degraded')
  t.match(behind.condition.reasons, [/^ClockSkew: clock 25\.0y behind the hub's \(-78840\d{4}s\)$/])
  t.match(ahead.condition.reasons, [/^ClockSkew: clock 3\.0y ahead the hub's \(\+9460\d{4}s\)$/])
  for (const node of [behind, ahead]) {
    t.ok(Date.parse(node.lastSeenAt) >= started - 1000 && Date.parse(node.lastSeenAt) <= Date.now() + 1000, `${node.id}: last seen on the hub's clock`)
    t.ok(Date.parse(node.usage.receivedAt) >= started - 1000, `${node.id}: the heartbeat's hub receive time`)
    t.ok(Date.parse(node.clock.skewedSince) >= started - 1000, `${node.id}: skewed since, on the hub's clock`)
  }
  t.match(behind.usage.at, /^2001-/, "beside it, the node's own time")
  t.match(ahead.usage.at, /^20(29|30)-/)
  t.equal(await hub.metric('shoal_nodes_clock_skewed'), 2, 'the metric counts both')

  const skewEvents = (events: readonly Event[], nodeId: string) => events.filter((e) => e.nodeId === nodeId && e.type.startsWith('ClockSkew'))
  const events = (await hub.events()) as Event[]
  const [pastSkew] = skewEvents(events, ids.past)
  t.match(pastSkew, { type: 'ClockSkew', severity: 'warning', seq: null, message: /clock is 25\.0y behind the hub's \(it reads 2001-/ })
  t.ok(Number(pastSkew?.data?.offsetSeconds) < 0)
  t.ok(Number(skewEvents(events, ids.future)[0]?.data?.offsetSeconds) > 0)

  // Workloads started under the wrong clocks.
  await hub.apply(deploymentYaml('skew-sleep', { mode: 'every-node', selector: { matchLabels: { fleet } }, template: sleepTemplate(image) }))
  const applied = Date.now()
  await Promise.all([waitForRunning(ids.past, ['skew-sleep']), waitForRunning(ids.future, ['skew-sleep'])])
  const details = await waitFor(
    async () => {
      const nodes = await Promise.all([hub.node(ids.past), hub.node(ids.future)])
      return nodes.every((n) => n.workloadStatus.some((w: any) => w.state === 'running')) ? nodes : undefined
    },
    { what: 'both nodes to report their workload running', timeoutMs: 60_000 },
  )
  for (const node of details) {
    const status = node.workloadStatus.find((w: any) => w.name === 'skew-sleep')
    t.ok(
      Date.parse(status.hubSince) >= applied - 2000 && Date.parse(status.hubSince) <= Date.now(),
      `${node.id}: the workload's start on the hub's clock (${status.hubSince})`,
    )
    t.ok(Math.abs(Date.parse(status.since) - Date.parse(status.hubSince)) > 365 * DAY_S * 1000, `${node.id}: its own since is kept beside it (${status.since})`)
  }

  // Events: listed in the order the hub received them, whatever their nodes' clocks said.
  const all = (await hub.events()) as Event[]
  const received = all.map((e) => Date.parse(e.receivedAt))
  t.same(
    received,
    [...received].sort((a, b) => a - b),
    'by id is by hub receive time',
  )
  const fromPast = all.filter((e) => e.nodeId === ids.past && e.seq !== null && e.at.startsWith('2001-'))
  const fromFuture = all.filter((e) => e.nodeId === ids.future && e.seq !== null && /^20(29|30)-/.test(e.at))
  t.ok(
    fromPast.length > 0 && fromFuture.length > 0,
    `agent events stamped by both wrong clocks (${fromPast.length} from 2001, ${fromFuture.length} from the future)`,
  )
  t.ok(
    fromPast.every((e) => Date.parse(e.receivedAt) >= started - 1000),
    'the 2001 events are received now, not 25 years ago',
  )

  await t.test('the CLI: get nodes, describe node, get events', async (t) => {
    // Node ids and the fleet label end in random hex, which could look like an age.
    const withoutNames = (text: string): string => text.replaceAll(ids.past, '<past>').replaceAll(ids.future, '<future>').replaceAll(fleet, '<fleet>')
    const wide = await cliOk(t, ['get', 'nodes', '-o', 'wide', ...connection])
    const row = (id: string) => wide.out.split('\n').find((line) => line.startsWith(id)) ?? ''
    t.match(row(ids.past), /Degraded .* ClockSkew: clock 25\.0y behind the hub's \(-\d+s\)/)
    t.match(row(ids.future), /Degraded .* ClockSkew: clock 3\.0y ahead the hub's \(\+\d+s\)/)
    t.notMatch(withoutNames(wide.out), /\b\d{3,}d\b/, 'no age of hundreds of days anywhere')

    const described = (await cliOk(t, ['describe', 'node', ids.past, '--events', '200', ...connection])).out
    t.match(described, /\nCondition: +Degraded\n +- ClockSkew: clock 25\.0y behind the hub's/)
    t.match(described, /\nLast seen: +\S+ \(\d+s ago\)\n/)
    t.match(described, /\nClock: +ClockSkew: 25\.0y behind the hub's \(offset -\d+(\.\d)?s, since \S+ \(\d+[sm] ago\); its last heartbeat said 2001-/)
    t.match(described, /\(heartbeat \d+s ago\)/, 'the heartbeat aged by the hub clock')
    t.match(described, /\n  skew-sleep +skew-sleep +running +none +yes +0 +1 +\d+[sm]\n/, 'the workload aged by the hub clock')
    t.match(described, /\n  \d+[sm] +warning +ClockSkew +/, 'the ClockSkew event, aged by the hub clock')
    t.notMatch(withoutNames(described), /\b\d{3,}d\b/, 'no age of hundreds of days anywhere')
    const aheadJson = JSON.parse((await cliOk(t, ['describe', 'node', ids.future, '-o', 'json', ...connection])).out)
    t.ok(aheadJson.clock.offsetSeconds > 0 && aheadJson.clock.skewed, '-o json: the offset, positive when ahead')
    t.match(aheadJson.usage.at, /^20(29|30)-/, "-o json: the node's own heartbeat time")

    const table = await cliOk(t, ['get', 'events', '--node', ids.past, ...connection])
    const cells = tableCells(table.out)
    t.ok(cells.aligned, cells.problems.join('; '))
    const ages = table.out
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((line) => line.split(/ +/)[0])
    t.ok(ages.length > 0 && ages.every((age) => /^\d+[smh]$/.test(age ?? '')), `every event's age is from the hub's clock (${ages.join(' ')})`)
    const wideEvents = await cliOk(t, ['get', 'events', '--node', ids.past, '-o', 'wide', ...connection])
    t.match(wideEvents.out.split('\n')[0], /^ID +TIME +NODE TIME +SEVERITY/)
    t.match(wideEvents.out, /\n\d+ +20\d\d-\S+ +2001-\S+ +/, "wide: the hub's time and the node's own")
    const json = JSON.parse((await cliOk(t, ['get', 'events', '-o', 'json', '--limit', '200', ...connection])).out)
    const jsonReceived = json.items.map((e: Event) => Date.parse(e.receivedAt))
    t.same(
      jsonReceived,
      [...jsonReceived].sort((a: number, b: number) => a - b),
      '-o json: in the order the hub received them',
    )
  })

  // NTP comes back: the clock is right again and the skew ends, with an event.
  await past.stop()
  await past.start({ env: {} })
  const cleared = await waitFor(async () => skewEvents((await hub.events(ids.past)) as Event[], ids.past).find((e) => e.type === 'ClockSkewCleared'), {
    what: 'ClockSkewCleared for the node whose clock was fixed',
    timeoutMs: 60_000,
  })
  t.equal(cleared.severity, 'info')
  const fixed = await hub.node(ids.past)
  t.equal(fixed.clock.skewed, false)
  t.ok(Math.abs(fixed.clock.offsetSeconds) < 5, `in step again (${fixed.clock.offsetSeconds} s)`)
  t.notOk(
    fixed.condition.reasons.some((r: string) => r.startsWith('ClockSkew')),
    'no ClockSkew reason',
  )
  t.equal(await hub.metric('shoal_nodes_clock_skewed'), 1, 'the metric counts the one still ahead')
})
