import path from 'node:path'
import t from 'tap'
import { ArchiveEscapeError, checkLinkTarget, cpDirectionOf, cpEndpointOf, localPathOfEntry, localRootOf, remotePlacementOf } from '../../cli/cp-paths.js'
import { forwardPortsOf, forwardSubjectOf } from '../../cli/port-forward-spec.js'
import { exitCodeOfEnd, sessionUrlOf } from '../../cli/session-client.js'
import { decodeClientMessage, encodeClientMessage, decodeServerData, encodeServerData } from '../../protocol/api/session-messages.js'

/** The exit code of the CliError a parse throws, or null. */
function exitOf(parse: () => unknown): number | null {
  try {
    parse()
    return null
  } catch (error) {
    return (error as { exitCode?: number }).exitCode ?? null
  }
}

t.test('cp endpoints: NAME:/path is remote, the rest local; remote paths are checked', async (t) => {
  t.same(cpEndpointOf('web:/data/x'), { kind: 'remote', deployment: 'web', path: '/data/x' })
  t.same(cpEndpointOf('deployment/web:/data'), { kind: 'remote', deployment: 'web', path: '/data' })
  t.same(cpEndpointOf('./web:/data'), { kind: 'local', path: './web:/data' })
  t.same(cpEndpointOf('/tmp/x'), { kind: 'local', path: '/tmp/x' })
  t.throws(() => cpEndpointOf('web:/data/../etc'), { message: /must not contain "\." or "\.\." segments/ })
  t.equal(
    exitOf(() => cpEndpointOf('web:/data/../etc')),
    2,
  )
  t.throws(() => cpEndpointOf('web:relative'), { message: /must be an absolute path/ })
  t.equal(cpDirectionOf(cpEndpointOf('web:/a'), cpEndpointOf('b')), 'from')
  t.equal(cpDirectionOf(cpEndpointOf('b'), cpEndpointOf('web:/a')), 'to')
  t.equal(
    exitOf(() => cpDirectionOf(cpEndpointOf('a'), cpEndpointOf('b'))),
    2,
  )
  t.equal(
    exitOf(() => cpDirectionOf(cpEndpointOf('web:/a'), cpEndpointOf('web:/b'))),
    2,
  )
})

t.test('where a local file lands in the container', async (t) => {
  t.same(remotePlacementOf('/etc/app/', 'conf'), { directory: '/etc/app', name: 'conf' })
  t.same(remotePlacementOf('/etc/app/settings', 'conf'), { directory: '/etc/app', name: 'settings' })
  t.same(remotePlacementOf('/', 'conf'), { directory: '/', name: 'conf' })
  t.same(remotePlacementOf('/x', 'conf'), { directory: '/', name: 'x' })
})

t.test('archive entries from the container stay inside the destination', async (t) => {
  const root = path.resolve('/tmp/dest')
  t.equal(localPathOfEntry(root, 'data'), root, 'the top entry is the destination itself')
  t.equal(localPathOfEntry(root, 'data/a/b.txt'), path.join(root, 'a', 'b.txt'))
  t.equal(localPathOfEntry(root, './data/./a'), path.join(root, 'a'))
  t.throws(() => localPathOfEntry(root, '/etc/passwd'), ArchiveEscapeError)
  t.throws(() => localPathOfEntry(root, 'data/../../etc/passwd'), { message: /"\.\." segment/ })
  t.throws(() => localPathOfEntry(root, 'data/a\0b'), { message: /NUL/ })
  t.doesNotThrow(() => checkLinkTarget(root, 'data/l', path.join(root, 'a', 'l'), '../b'))
  t.throws(() => checkLinkTarget(root, 'data/l', path.join(root, 'l'), '../../etc'), { message: /outside the destination/ })
  t.throws(() => checkLinkTarget(root, 'data/l', path.join(root, 'l'), '/etc'), { message: /absolute path/ })
  t.equal(localRootOf('/out', '/data/f.txt', true, false), path.join('/out', 'f.txt'), 'a file into an existing directory keeps its name')
  t.equal(localRootOf('/out', '/data/f.txt', false, false), '/out', 'a file to a new name is renamed')
  t.equal(localRootOf('/out', '/data', true, true), '/out', "a directory's contents go into the destination")
})

t.test('port-forward arguments, as kubectl spells them', async (t) => {
  t.same(forwardPortsOf('80'), { local: 80, remote: 80 })
  t.same(forwardPortsOf('8080:80'), { local: 8080, remote: 80 })
  t.same(forwardPortsOf(':80'), { local: 0, remote: 80 })
  t.same(forwardPortsOf('0:80'), { local: 0, remote: 80 })
  t.equal(
    exitOf(() => forwardPortsOf('80:0')),
    2,
  )
  t.equal(
    exitOf(() => forwardPortsOf('x')),
    2,
  )
  t.equal(
    exitOf(() => forwardPortsOf('70000')),
    2,
  )
  t.same(forwardSubjectOf('web'), { kind: 'deployment', name: 'web' })
  t.same(forwardSubjectOf('node/pi-1'), { kind: 'node', name: 'pi-1' })
  t.equal(
    exitOf(() => forwardSubjectOf('pod/x')),
    2,
  )
})

t.test('the session socket: URL, exit codes and binary messages', async (t) => {
  t.equal(sessionUrlOf('http://hub:8080'), 'ws://hub:8080/api/v1/sessions/attach')
  t.equal(sessionUrlOf('https://hub.example/base'), 'wss://hub.example/api/v1/sessions/attach')
  t.equal(exitCodeOfEnd({ type: 'end', exitCode: 3, error: null }), 3)
  t.equal(exitCodeOfEnd({ type: 'end', exitCode: null, error: null }), 0)
  t.equal(exitCodeOfEnd({ type: 'end', exitCode: null, error: { code: 'offline', message: 'x' } }), 1)
  for (const message of [{ type: 'stdin', bytes: Buffer.from('hi') }, { type: 'eof' }, { type: 'resize', size: { cols: 120, rows: 40 } }] as const)
    t.same(decodeClientMessage(encodeClientMessage(message)), message)
  t.throws(() => decodeClientMessage(Buffer.of(4, 0, 0, 0, 1)), { message: /out of range/ })
  t.throws(() => decodeClientMessage(Buffer.of(9)), { message: /unknown client stream 9/ })
  t.same(decodeServerData(encodeServerData('stderr', Buffer.from('e'))), { stream: 'stderr', bytes: Buffer.from('e') })
})
