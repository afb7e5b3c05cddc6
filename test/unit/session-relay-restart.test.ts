import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { systemClock } from '../../common/clock.js'
import { decodeSessionFrame, type SessionFrame } from '../../protocol/session.js'
import { generateSigningKeys, prepareSigningKey } from '../../protocol/signing.js'
import { ChangeFeed } from '../../hub/ingest/change-feed.js'
import { Metrics } from '../../hub/metrics.js'
import { SessionRelay } from '../../hub/sessions/session-relay.js'
import { HubStore } from '../../hub/store/hub-store.js'
import { openHubDatabase } from '../../hub/store/open-hub-database.js'
import { tempDir } from '../support/tmp.js'

t.test('a restarted hub closes what its predecessor left open: in the audit, and on each node with a close', async (t) => {
  const store = new HubStore(openHubDatabase(path.join(tempDir(t, 'relay-restart'), 'hub.db')))
  t.teardown(() => store.close())
  const row = (id: string, node: string) => ({
    id,
    user: 'admin',
    node,
    kind: 'exec' as const,
    workload: 'web',
    container: null,
    detail: 'sh',
    startedAt: '2026-12-08T00:00:00.000Z',
  })
  store.sessions.start(row('a'.repeat(32), 'pi-1'))
  store.sessions.start(row('b'.repeat(32), 'pi-2'))
  store.sessions.start(row('c'.repeat(32), 'pi-1'))
  store.sessions.finish('c'.repeat(32), { endedAt: '2026-12-08T00:01:00.000Z', exitCode: 0, error: null, bytesIn: 1, bytesOut: 2 })

  const published: { nodeId: string; frame: SessionFrame }[] = []
  const relay = new SessionRelay({
    store,
    clock: systemClock,
    logger: pino({ level: 'silent' }),
    metrics: new Metrics(),
    feed: new ChangeFeed(),
    signingKey: prepareSigningKey(generateSigningKeys().privateKeyPem),
    publish: async (nodeId, frame) => {
      published.push({ nodeId, frame: decodeSessionFrame(frame, 'to-node') })
    },
  })
  relay.closeInterrupted()

  t.same(
    published.map(({ nodeId, frame }) => ({ nodeId, frame })).sort((x, y) => x.nodeId.localeCompare(y.nodeId)),
    [
      { nodeId: 'pi-1', frame: { kind: 'close', sessionId: 'a'.repeat(32), seq: 0, reason: 'the hub restarted during the session' } },
      { nodeId: 'pi-2', frame: { kind: 'close', sessionId: 'b'.repeat(32), seq: 0, reason: 'the hub restarted during the session' } },
    ],
    'one close per session left open, to its own node; none for the one that had ended',
  )
  t.match(store.sessions.get('a'.repeat(32)), { error: 'closed: the hub restarted during the session', endedAt: /./ }, 'the audit row is closed')
  t.match(store.sessions.get('c'.repeat(32)), { error: null, exitCode: 0, endedAt: '2026-12-08T00:01:00.000Z' }, 'an ended row keeps its end')

  published.length = 0
  relay.closeInterrupted()
  t.same(published, [], 'a second call finds nothing left open')
})
