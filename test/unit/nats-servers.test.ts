// A NATS cluster's server list (common/nats/nats-servers.ts): what the hub's --nats-url, the
// enrollment's broker URL and the agent's --hub may hold.
import t from 'tap'
import { formatNatsServerList, NatsServerListError, parseNatsServerList, splitNatsUrls } from '../../common/nats/nats-servers.js'

t.test('one URL is a list of one, 4222 by default', async (t) => {
  t.strictSame(parseNatsServerList('nats://hub'), { servers: ['hub:4222'] })
  t.strictSame(parseNatsServerList('tls://hub:4443'), { servers: ['hub:4443'] })
})

t.test('a repeated flag and commas give the same list, blanks and repeats dropped', async (t) => {
  t.strictSame(splitNatsUrls(['nats://a:1, nats://b:2', 'nats://c:3', ' ']), ['nats://a:1', 'nats://b:2', 'nats://c:3'])
  t.strictSame(parseNatsServerList(['nats://a:1,nats://b:2', 'nats://c:3', 'nats://a:1']), { servers: ['a:1', 'b:2', 'c:3'] })
  t.strictSame(parseNatsServerList('nats://a:1,,nats://b:2,'), { servers: ['a:1', 'b:2'] })
})

t.test('credentials may sit in any URL but must agree', async (t) => {
  t.strictSame(parseNatsServerList('nats://u%40x:p%3Aw@a:1,nats://b:2'), { servers: ['a:1', 'b:2'], user: 'u@x', pass: 'p:w' })
  t.strictSame(parseNatsServerList('nats://a:1,nats://u:p@b:2,nats://u:p@c:3'), { servers: ['a:1', 'b:2', 'c:3'], user: 'u', pass: 'p' })
  t.throws(() => parseNatsServerList('nats://u:p@a:1,nats://u:q@b:2'), { code: 'nats-server-list', message: /different credentials/ })
})

t.test('bad entries are refused, naming the entry', async (t) => {
  t.throws(() => parseNatsServerList(''), NatsServerListError)
  t.throws(() => parseNatsServerList(' , '), { message: /names no NATS server/ })
  t.throws(() => parseNatsServerList('nats://a:1,b:2'), { message: /"b:2": expected nats:\/\/ or tls:\/\// })
  t.throws(() => parseNatsServerList('nats://a:1,mqtt://b:2'), { message: /"mqtt:\/\/b:2": expected nats:\/\// })
  t.throws(() => parseNatsServerList('nats://a:1,not a url'), { message: /"not a url" is not a URL/ })
  t.throws(() => parseNatsServerList('nats://'), { message: /names no host/ })
})

t.test('formatting round-trips, credentials encoded in every URL', async (t) => {
  t.equal(formatNatsServerList({ servers: ['a:1', 'b:2'] }), 'nats://a:1,nats://b:2')
  const withUser = formatNatsServerList({ servers: ['a:1', 'b:2'], user: 'shoal_hub', pass: 'p/w:@' })
  t.equal(withUser, 'nats://shoal_hub:p%2Fw%3A%40@a:1,nats://shoal_hub:p%2Fw%3A%40@b:2')
  t.strictSame(parseNatsServerList(withUser), { servers: ['a:1', 'b:2'], user: 'shoal_hub', pass: 'p/w:@' })
})
