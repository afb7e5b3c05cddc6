import t from 'tap'
import { AgentConfigError, nodeNameFromHostname, parseHubUrl, parseLabelList, parseNodeName } from '../../agent/config.js'
import { Name } from '../../protocol/index.js'

/** The AgentConfigError a call throws, or a failure. */
function configError(fn: () => unknown): AgentConfigError {
  try {
    fn()
  } catch (error) {
    if (error instanceof AgentConfigError) return error
    throw error
  }
  throw new Error('expected an AgentConfigError, but nothing was thrown')
}

t.test('labels: k=v pairs separated by commas, trimmed', async (t) => {
  t.strictSame(parseLabelList('site=factory-7,tier=edge', '--labels'), { site: 'factory-7', tier: 'edge' })
  t.strictSame(parseLabelList(' site=factory-7 ,  tier=edge ', '--labels'), { site: 'factory-7', tier: 'edge' }, 'spaces around a pair are dropped')
  t.match(
    configError(() => parseLabelList('site = factory-7', '--labels')).message,
    /^--labels: .*"site "/,
    'spaces around "=" belong to the key and value, and are refused',
  )
})

t.test('labels: nothing given means no labels', async (t) => {
  t.strictSame(parseLabelList(undefined, '--labels'), {})
  t.strictSame(parseLabelList('', '--labels'), {})
  t.strictSame(parseLabelList('   ', '--labels'), {})
})

t.test('labels: empty values, prefixed keys, stray commas', async (t) => {
  t.strictSame(parseLabelList('gpu=', '--labels'), { gpu: '' })
  t.strictSame(parseLabelList('example.com/rack=r-12,data=market.ticks', '--labels'), { 'example.com/rack': 'r-12', data: 'market.ticks' })
  t.strictSame(parseLabelList('a=1,,b=2,', '--labels'), { a: '1', b: '2' })
})

t.test('labels: a pair without "=" or without a key is refused, naming the option', async (t) => {
  const missing = configError(() => parseLabelList('site=a,edge', '--labels'))
  t.equal(missing.code, 'bad-config')
  t.equal(missing.option, '--labels')
  t.equal(missing.message, '--labels: expected key=value, got "edge"')
  t.match(configError(() => parseLabelList('=edge', '--container-labels')).message, /^--container-labels: expected key=value, got "=edge"/)
})

t.test('labels: keys and values a label cannot hold are refused with the reason', async (t) => {
  t.match(configError(() => parseLabelList('bad key=1', '--labels')).message, /^--labels: .*bad key/)
  t.match(configError(() => parseLabelList('-site=1', '--labels')).message, /^--labels: .*invalid key/)
  t.match(configError(() => parseLabelList('site=has space', '--labels')).message, /^--labels: site: must be empty or letters/)
  t.match(configError(() => parseLabelList(`site=${'x'.repeat(64)}`, '--labels')).message, /^--labels: site:/)
  t.strictSame(parseLabelList(`site=${'x'.repeat(63)}`, '--labels'), { site: 'x'.repeat(63) }, '63 characters is fine')
  t.match(configError(() => parseLabelList('a=1=2', '--labels')).message, /^--labels: a:/, 'the value after the first "=" must itself be valid')
})

t.test('hub URL: MQTT, NATS and the HTTP(S) enrolment URL are accepted as given', async (t) => {
  for (const url of [
    'mqtt://hub.example:1883',
    'mqtts://hub.example:8883',
    'nats://10.0.0.5:4222',
    'tls://hub.example:4443',
    'http://hub.example:8080',
    'https://hub.example',
    'mqtt://[::1]:1883',
  ]) {
    t.equal(parseHubUrl(url), url, url)
  }
  t.equal(parseHubUrl(undefined), null)
  t.equal(parseHubUrl(''), null)
})

t.test('hub URL: other schemes are refused with the ones that work', async (t) => {
  for (const url of ['ws://hub.example:8083', 'ftp://hub.example', 'file:///etc/passwd', 'localhost:1883']) {
    const error = configError(() => parseHubUrl(url))
    t.equal(error.option, '--hub', url)
    t.match(error.message, /unsupported scheme .*mqtt:\/\/, mqtts:\/\/, nats:\/\//, url)
  }
})

t.test("hub URL: a NATS cluster's servers separated by commas; no other list", async (t) => {
  const list = 'nats://n7:pw@nats-1:4222,nats://nats-2:4222,tls://nats-3:4443'
  t.equal(parseHubUrl(list), list)
  for (const url of ['mqtt://a:1883,mqtt://b:1883', 'http://hub:8080,http://hub2:8080', 'nats://a:4222,mqtt://b:1883']) {
    const error = configError(() => parseHubUrl(url))
    t.equal(error.option, '--hub', url)
    t.match(error.message, /only a NATS cluster is given as a list/, url)
  }
})

t.test('hub URL: text that is no URL at all is refused', async (t) => {
  const error = configError(() => parseHubUrl('hub.example'))
  t.match(error.message, /^--hub: not a URL: "hub.example"/)
  t.match(configError(() => parseHubUrl('http://')).message, /not a URL/)
})

t.test('hub URL: a URL that names no host is refused', async (t) => {
  for (const url of ['mqtt://', 'nats://', 'mqtt:hub.example', 'mqtts:///path']) {
    t.match(configError(() => parseHubUrl(url)).message, /^--hub: .* names no host/, url)
  }
})

t.test('node name: must be a DNS-style name', async (t) => {
  t.equal(parseNodeName(undefined), null)
  t.equal(parseNodeName('pi-17'), 'pi-17')
  t.equal(parseNodeName('a'.repeat(63)), 'a'.repeat(63))
  for (const bad of ['', 'Pi-17', 'pi_17', '-pi', 'pi-', 'pi.17', 'a'.repeat(64), 'pi/17']) {
    const error = configError(() => parseNodeName(bad))
    t.equal(error.option, '--name', JSON.stringify(bad))
    t.ok(error.message.startsWith(`--name: ${JSON.stringify(bad)} `), `quotes ${JSON.stringify(bad)}`)
  }
})

t.test('node name from a hostname: lower-cased, dashes for the rest, at most 63', async (t) => {
  t.equal(nodeNameFromHostname('pi-17'), 'pi-17')
  t.equal(nodeNameFromHostname('Pi-Kitchen.local'), 'pi-kitchen-local')
  t.equal(nodeNameFromHostname('RACK_12__node.example.com'), 'rack-12-node-example-com')
  t.equal(nodeNameFromHostname('-edge-'), 'edge')
  t.equal(nodeNameFromHostname('café'), 'caf')
  t.equal(nodeNameFromHostname(''), 'node')
  t.equal(nodeNameFromHostname('___'), 'node')
  const long = nodeNameFromHostname(`${'a'.repeat(62)}-bcd`)
  t.equal(long, 'a'.repeat(62), 'trimmed to 63, then the dangling dash dropped')
})

t.test('node name from any hostname is a valid node name', async (t) => {
  const hostnames = [
    'localhost',
    'ip-10-0-0-5.eu-west-1.compute.internal',
    'DESKTOP-7Q2L',
    '日本',
    'x'.repeat(300),
    '.-.',
    '123',
    'a--b',
    'ü-ber',
    'host name with spaces',
  ]
  for (const hostname of hostnames) {
    const name = nodeNameFromHostname(hostname)
    t.ok(Name.safeParse(name).success, `${JSON.stringify(hostname)} → ${JSON.stringify(name)}`)
    t.equal(parseNodeName(name), name)
  }
})

t.test('a label key that would vanish as a property (__proto__) is refused, not dropped', async (t) => {
  t.match(configError(() => parseLabelList('site=a,__proto__=x', '--labels')).message, /^--labels: .*invalid key.*__proto__/)
})
