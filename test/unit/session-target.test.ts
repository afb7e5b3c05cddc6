import t from 'tap'
import { SessionRequest } from '../../protocol/api/sessions.js'
import { resolveSessionTarget, sessionDetail, type SessionCopy } from '../../hub/sessions/session-target.js'

const copy = (nodeId: string, workload: string, replica = 0): SessionCopy => ({ nodeId, workload, replica })
const nodes = new Set(['pi-1', 'pi-2', 'pi-3'])
const facts = (copies: SessionCopy[] | null) => ({ copies, nodeExists: (id: string) => nodes.has(id) })
const exec = (extra: Record<string, unknown> = {}) => SessionRequest.parse({ kind: 'exec', deployment: 'web', command: ['sh'], ...extra })

t.test('a deployment with one copy picks it, and the target carries the request', async (t) => {
  const resolved = resolveSessionTarget(exec({ tty: true, stdin: true, container: 'app', size: { cols: 80, rows: 24 } }), facts([copy('pi-1', 'web')]))
  t.same(resolved, {
    ok: true,
    nodeId: 'pi-1',
    target: { kind: 'exec', workload: 'web', container: 'app', command: ['sh'], tty: true, stdin: true, size: { cols: 80, rows: 24 } },
  })
})

t.test('several nodes without --node: a clear error listing node and workload of each', async (t) => {
  const resolved = resolveSessionTarget(exec(), facts([copy('pi-2', 'web'), copy('pi-1', 'web')]))
  t.same(resolved, {
    ok: false,
    code: 'no-target',
    message: 'deployment web has copies on 2 nodes; name one with --node: node pi-1 workload web, node pi-2 workload web',
  })
})

t.test('--node picks that node; a node without a copy lists where the copies are', async (t) => {
  const copies = [copy('pi-1', 'web'), copy('pi-2', 'web')]
  t.match(resolveSessionTarget(exec({ node: 'pi-2' }), facts(copies)), { ok: true, nodeId: 'pi-2', target: { workload: 'web' } })
  t.same(resolveSessionTarget(exec({ node: 'pi-3' }), facts(copies)), {
    ok: false,
    code: 'no-target',
    message: 'deployment web has no copy on node pi-3; its copies: node pi-1 workload web, node pi-2 workload web',
  })
  t.same(resolveSessionTarget(exec({ node: 'ghost' }), facts(copies)), { ok: false, code: 'no-target', message: 'node ghost is not enrolled with this hub' })
})

t.test('a node holding several copies needs --replica, counted from 1 in ordinal order', async (t) => {
  const copies = [copy('pi-1', 'web-2', 1), copy('pi-1', 'web-1', 0), copy('pi-2', 'web', 2)]
  t.same(resolveSessionTarget(exec({ node: 'pi-1' }), facts(copies)), {
    ok: false,
    code: 'no-target',
    message: 'node pi-1 holds 2 copies of deployment web; name one with --replica 1-2: node pi-1 workload web-1, node pi-1 workload web-2',
  })
  t.match(resolveSessionTarget(exec({ node: 'pi-1', replica: 1 }), facts(copies)), { ok: true, target: { workload: 'web-1' } })
  t.match(resolveSessionTarget(exec({ node: 'pi-1', replica: 2 }), facts(copies)), { ok: true, target: { workload: 'web-2' } })
  t.match(resolveSessionTarget(exec({ node: 'pi-1', replica: 3 }), facts(copies)), {
    ok: false,
    message: /^node pi-1 holds 2 copies of deployment web, so --replica 3 names none/,
  })
  t.match(
    resolveSessionTarget(exec({ node: 'pi-2', replica: 1 }), facts(copies)),
    { ok: true, target: { workload: 'web' } },
    '--replica 1 of a single copy is that copy',
  )
})

t.test('no such deployment, or one placed nowhere', async (t) => {
  t.same(resolveSessionTarget(exec(), facts(null)), { ok: false, code: 'no-target', message: 'no deployment named web' })
  t.match(resolveSessionTarget(exec(), facts([])), { ok: false, code: 'no-target', message: /^deployment web runs on no node yet/ })
})

t.test('port-forward to a node itself, or to a deployment', async (t) => {
  t.same(resolveSessionTarget(SessionRequest.parse({ kind: 'port-forward', node: 'pi-3', port: 9100 }), facts(null)), {
    ok: true,
    nodeId: 'pi-3',
    target: { kind: 'port-forward', port: 9100 },
  })
  t.match(resolveSessionTarget(SessionRequest.parse({ kind: 'port-forward', node: 'nope', port: 9100 }), facts(null)), { ok: false, code: 'no-target' })
  t.match(resolveSessionTarget(SessionRequest.parse({ kind: 'port-forward', port: 9100 }), facts(null)), { ok: false, code: 'bad-request' })
  t.match(resolveSessionTarget(SessionRequest.parse({ kind: 'port-forward', node: 'pi-1', replica: 2, port: 80 }), facts(null)), {
    ok: false,
    code: 'bad-request',
  })
  t.same(resolveSessionTarget(SessionRequest.parse({ kind: 'port-forward', deployment: 'web', port: 80 }), facts([copy('pi-1', 'web')])), {
    ok: true,
    nodeId: 'pi-1',
    target: { kind: 'port-forward', workload: 'web', port: 80 },
  })
})

t.test('copies in both directions keep their path', async (t) => {
  for (const kind of ['cp-from', 'cp-to'] as const)
    t.same(resolveSessionTarget(SessionRequest.parse({ kind, deployment: 'web', path: '/data' }), facts([copy('pi-1', 'web')])), {
      ok: true,
      nodeId: 'pi-1',
      target: { kind, workload: 'web', path: '/data' },
    })
  t.throws(() => SessionRequest.parse({ kind: 'cp-from', deployment: 'web', path: '/data/../etc' }), 'a remote path with .. never reaches the hub')
})

t.test('the audit detail: the command quoted where needed, ":port", or the path', async (t) => {
  t.equal(sessionDetail({ kind: 'exec', workload: 'web', command: ['sh', '-c', 'echo hi; exit 3'], tty: false, stdin: false }), 'sh -c "echo hi; exit 3"')
  t.equal(sessionDetail({ kind: 'port-forward', port: 80 }), ':80')
  t.equal(sessionDetail({ kind: 'cp-to', workload: 'web', path: '/data' }), '/data')
})
