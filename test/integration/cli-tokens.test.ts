// A join token's whole life through the CLI and the API of a real hub: created with a default
// expiry, listed with its uses and what is left, revoked (it enrolls no more, the node it
// enrolled stays), and enrollment attempts that keep failing from one address are slowed down
// with a 429 and Retry-After, while a good token from elsewhere is not.
import path from 'node:path'
import t from 'tap'
import { tempDir, waitFor } from '../support/index.js'
import { uniqueNodeId } from '../support/agent-process.js'
import { startHubAgent, startHubProcess } from '../support/hub-process.js'
import { runSpawned } from './cli-harness.js'

t.setTimeout(180_000)

t.test('join tokens: list, revoke, and failed enrollments limited per address', async (t) => {
  const hub = await startHubProcess(t)
  const env = { SHOAL_HUB: hub.apiUrl, SHOAL_TOKEN: hub.adminToken, SHOAL_CONFIG: path.join(tempDir(t, 'cli-tokens'), 'config.yaml'), NO_COLOR: '1' }
  const shoal = (argv: readonly string[]) => runSpawned(t, argv, { env, timeoutMs: 60_000 })

  const created = await shoal(['token', 'create', '--max-uses', '2', '--labels', 'site=a', '-o', 'json'])
  t.equal(created.code, 0, created.err)
  const token = JSON.parse(created.out) as { token: string; id: string; expiresAt: string | null }
  t.ok(token.expiresAt !== null && Date.parse(token.expiresAt) - Date.now() > 23 * 3600_000, 'expires in 24 h by default')
  const malformed = await shoal(['token', 'create', '--labels', 'shoal.io/monthly-budget=lots'])
  t.equal(malformed.code, 1, 'a bandwidth label that means nothing is refused at creation')
  t.match(malformed.err, /join token: shoal\.io\/monthly-budget=lots: must be a byte quantity such as 2Gi or 500M; no label was changed/)
  const agent = await startHubAgent(t, hub, { name: uniqueNodeId('tok'), token: token.token })
  await waitFor(async () => (await hub.nodes()).some((n: any) => n.id === agent.nodeId), { what: 'the node enrolled', timeoutMs: 30_000 })

  const listed = await shoal(['token', 'list'])
  t.equal(listed.code, 0, listed.err)
  const row = listed.out.split('\n').find((line) => line.startsWith(token.id))
  t.match(row, new RegExp(`^${token.id}\\s+usable\\s+1\\s+1\\s+\\S+\\s+site=a\\s+`), 'one use, one left')
  const json = JSON.parse((await shoal(['token', 'list', '-o', 'json'])).out) as { items: { id: string; uses: number; usesLeft: number; token?: string }[] }
  t.match(
    json.items.find((i) => i.id === token.id),
    { uses: 1, usesLeft: 1 },
  )
  t.notOk(JSON.stringify(json).includes(token.token), 'the secret is never listed')

  const revoked = await shoal(['token', 'revoke', token.id])
  t.equal(revoked.code, 0, revoked.err)
  t.equal(revoked.out, `token/${token.id} revoked\n`)
  const again = await shoal(['token', 'revoke', token.id])
  t.equal(again.code, 1)
  t.match(again.err, /join token .* not found; list them with shoal token list/)
  const { inventory } = await hub.node(agent.nodeId)
  const enroll = (secret: string) =>
    hub.api('POST', '/api/v1/enroll', { token: secret, name: uniqueNodeId('late'), labels: {}, inventory, agentVersion: '0.1.0' }, { token: null })
  const refused = await enroll(token.token)
  t.equal(refused.status, 403, 'a revoked token enrolls nothing')
  t.ok(
    (await hub.nodes()).some((n: any) => n.id === agent.nodeId),
    'the node it enrolled stays',
  )

  // The revoked attempt was one failure from this address; nine more reach the limit of ten.
  for (let i = 0; i < 9; i++) t.ok([400, 403].includes((await enroll(`shoal_guess${i}_x`)).status), `guess ${i + 1} is refused (a malformed or unknown token)`)
  const limited = await enroll('shoal_guess10_x')
  t.equal(limited.status, 429, 'the eleventh failure in a minute is turned away before the token is looked at')
  t.match(limited.body.error, { code: 'too-many-failed-enrollments', message: /try again in \d+ s/ })
  const retryAfter = Number(
    (await fetch(`${hub.apiUrl}/api/v1/enroll`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json' } })).headers.get('retry-after'),
  )
  t.ok(retryAfter > 0 && retryAfter <= 60, `Retry-After says when (${retryAfter} s)`)
})
