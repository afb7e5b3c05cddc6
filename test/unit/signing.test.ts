import t from 'tap'
import { canonicalJson } from '../../protocol/canonical-json.js'
import { ContainerTemplate } from '../../protocol/container-template.js'
import { DesiredDocument, type UnsignedDesiredDocument } from '../../protocol/desired.js'
import { ProtocolError } from '../../protocol/errors.js'
import { generateSigningKeys, keyIdOf, prepareSigningKey, publicKeyOf, signDocument, signedBytes, verifyDocumentSignature } from '../../protocol/signing.js'

const hub = generateSigningKeys()
const stranger = generateSigningKeys()

const unsigned: UnsignedDesiredDocument = {
  apiVersion: 'shoal/v1',
  kind: 'NodeDesiredState',
  nodeId: 'pi-17',
  generation: 42,
  issuedAt: '2025-03-01T12:00:00.000Z',
  workloads: [
    {
      name: 'ticker-ingest',
      deployment: 'ticker-ingest',
      revision: 3,
      template: ContainerTemplate.parse({
        image: 'registry.example/ingest:1.4',
        command: ['ingest', '--listen', '127.0.0.1:8080'],
        env: { LEVEL: 'info', REGION: 'eu-1' },
        resources: { cpu: 0.5, memory: '128Mi' },
        healthCheck: { http: { port: 8080, path: '/healthz' } },
        volumes: [{ name: 'cache', path: '/var/cache/ingest' }],
      }),
    },
    { name: 'exporter', deployment: 'exporter', revision: 1, template: ContainerTemplate.parse({ image: 'prom/node-exporter:v1.8.1' }) },
  ],
}

function rejection(document: unknown, publicKey = hub.publicKey): ProtocolError | undefined {
  try {
    verifyDocumentSignature(document, publicKey)
    return undefined
  } catch (error) {
    if (error instanceof ProtocolError) return error
    throw error
  }
}

t.test('a signed document verifies against the signing key and is a valid DesiredDocument', async (t) => {
  const signed = signDocument(unsigned, hub.privateKeyPem)
  t.equal(signed.keyId, keyIdOf(hub.publicKey))
  t.match(signed.keyId, /^[0-9a-f]{16}$/)
  t.doesNotThrow(() => verifyDocumentSignature(signed, hub.publicKey))
  t.doesNotThrow(() => DesiredDocument.parse(signed))
})

t.test('it still verifies after a trip over the wire, whatever the key order or whitespace', async (t) => {
  const signed = signDocument(unsigned, hub.privateKeyPem)
  t.doesNotThrow(() => verifyDocumentSignature(JSON.parse(JSON.stringify(signed)), hub.publicKey))
  t.doesNotThrow(() => verifyDocumentSignature(JSON.parse(JSON.stringify(reverseKeys(signed), null, 2)), hub.publicKey))
})

t.test('the public key is derived from the private key, and key ids are stable', async (t) => {
  t.equal(publicKeyOf(hub.privateKeyPem), hub.publicKey)
  t.equal(keyIdOf(hub.publicKey), keyIdOf(hub.publicKey))
  t.not(keyIdOf(hub.publicKey), keyIdOf(stranger.publicKey))
})

t.test('changing one byte anywhere in the serialized document makes parsing or verification fail', async (t) => {
  const text = JSON.stringify(signDocument(unsigned, hub.privateKeyPem))
  let parsedButRejected = 0
  let unparseable = 0
  const accepted: string[] = []
  for (let index = 0; index < text.length; index++) {
    for (const replacement of replacementsFor(text[index] ?? '')) {
      const mutated = text.slice(0, index) + replacement + text.slice(index + 1)
      let document: unknown
      try {
        document = JSON.parse(mutated)
      } catch {
        unparseable++
        continue
      }
      if (rejection(document)?.code === 'bad-signature') parsedButRejected++
      else accepted.push(`byte ${index}: ${JSON.stringify(text[index])} -> ${JSON.stringify(replacement)}`)
    }
  }
  t.same(accepted, [], 'no mutation verifies')
  // Most mutations keep the JSON readable (a digit for a digit, a letter for a letter), so the
  // signature check is what catches them, not the JSON parser.
  t.ok(parsedButRejected > text.length, `${parsedButRejected} parseable mutations rejected by the signature (${unparseable} unparseable)`)
})

t.test('changing any leaf value, renaming any key or dropping any field makes verification fail', async (t) => {
  const signed = signDocument(unsigned, hub.privateKeyPem) as unknown as Record<string, unknown>
  let checked = 0
  for (const mutated of mutations(signed)) {
    checked++
    t.equal(rejection(mutated.document)?.code, 'bad-signature', mutated.what)
  }
  t.ok(checked > 60, `${checked} mutations checked`)
})

t.test('adding a field the hub did not sign makes verification fail', async (t) => {
  const signed = signDocument(unsigned, hub.privateKeyPem)
  t.equal(rejection({ ...signed, note: 'added by the broker' })?.code, 'bad-signature')
})

t.test('a signature that decodes to the same bytes but is not spelt canonically is refused', async (t) => {
  const signed = signDocument(unsigned, hub.privateKeyPem)
  // Node's base64 decoder skips characters outside the alphabet and the spare bits of the last
  // data character; both would otherwise let a document change and still verify.
  const withJunk = `${signed.signature.slice(0, 10)}!${signed.signature.slice(10)}`
  t.same(Buffer.from(withJunk, 'base64'), Buffer.from(signed.signature, 'base64'), 'Node decodes both the same')
  t.match(rejection({ ...signed, signature: withJunk })?.message, /canonical base64/)
  const last = signed.signature.replace(/=+$/, '').slice(-1)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  const spareBitsTwin = alphabet[alphabet.indexOf(last) ^ 1] ?? ''
  const twin = signed.signature.replace(/.(=*)$/, `${spareBitsTwin}$1`)
  t.same(Buffer.from(twin, 'base64'), Buffer.from(signed.signature, 'base64'), 'the spare bits are ignored by the decoder')
  t.equal(rejection({ ...signed, signature: twin })?.code, 'bad-signature')
  t.equal(rejection({ ...signed, signature: signed.signature.slice(0, -4) })?.code, 'bad-signature', 'too short')
})

t.test('a document signed by another key fails with a message naming both key ids', async (t) => {
  const forged = signDocument(unsigned, stranger.privateKeyPem)
  const error = rejection(forged, hub.publicKey)
  t.equal(error?.code, 'bad-signature')
  t.match(error?.message, keyIdOf(stranger.publicKey))
  t.match(error?.message, keyIdOf(hub.publicKey))
})

t.test('a document claiming the pinned key id but signed by another key fails', async (t) => {
  const forged = signDocument(unsigned, stranger.privateKeyPem)
  const claimed = { ...forged, keyId: keyIdOf(hub.publicKey) }
  t.equal(rejection(claimed)?.code, 'bad-signature')
})

t.test('documents without a signature, or that are not objects, are refused with bad-signature', async (t) => {
  const { signature: _signature, ...unsignedWithKey } = signDocument(unsigned, hub.privateKeyPem)
  t.match(rejection(unsignedWithKey)?.message, /no signature/)
  for (const value of [null, 'text', 42, [], [unsigned]]) t.equal(rejection(value)?.code, 'bad-signature', JSON.stringify(value))
  t.equal(rejection({ ...unsignedWithKey, signature: 12 })?.code, 'bad-signature', 'a non-string signature')
})

t.test('the signature covers canonical bytes, so it is the same whatever the key order of the input', async (t) => {
  const a = signDocument(unsigned, hub.privateKeyPem)
  const b = signDocument(reverseKeys(unsigned) as UnsignedDesiredDocument, hub.privateKeyPem)
  t.not(JSON.stringify(reverseKeys(unsigned)), JSON.stringify(unsigned), 'the inputs really are ordered differently')
  t.equal(a.signature, b.signature)
  t.same(signedBytes(a), signedBytes(b))
  t.equal(signedBytes(a).toString(), canonicalJson({ ...a, signature: undefined }))
})

/** Replacements that keep the JSON text readable where possible, so the signature has to catch them. */
function replacementsFor(char: string): string[] {
  const out = new Set<string>()
  if (/[0-9]/.test(char)) out.add(String((Number(char) + 1) % 10))
  if (/[a-z]/.test(char)) {
    out.add(char === 'z' ? 'a' : String.fromCharCode(char.charCodeAt(0) + 1))
    out.add(char.toUpperCase())
  }
  if (/[A-Z]/.test(char)) {
    out.add(char === 'Z' ? 'A' : String.fromCharCode(char.charCodeAt(0) + 1))
    out.add(char.toLowerCase())
  }
  if (char === '+' || char === '/' || char === '=') out.add('A')
  for (const other of ['x', ' ', '!']) if (other !== char) out.add(other)
  return [...out]
}

interface Mutation {
  readonly what: string
  readonly document: unknown
}

/** Every leaf changed to another value of its type, every key renamed, every field dropped. */
function* mutations(root: Record<string, unknown>): Generator<Mutation> {
  function* walk(node: unknown, path: string[], rebuild: (value: unknown) => unknown): Generator<Mutation> {
    if (Array.isArray(node)) {
      for (const [index, item] of node.entries()) {
        yield* walk(item, [...path, String(index)], (value) => rebuild(node.map((other, i) => (i === index ? value : other))))
      }
      return
    }
    if (typeof node === 'object' && node !== null) {
      const record = node as Record<string, unknown>
      for (const [key, item] of Object.entries(record)) {
        const where = [...path, key].join('.')
        const renamed = Object.fromEntries(Object.entries(record).map(([k, v]) => [k === key ? `${k}_` : k, v]))
        yield { what: `rename ${where}`, document: rebuild(renamed) }
        const { [key]: _dropped, ...rest } = record
        yield { what: `drop ${where}`, document: rebuild(rest) }
        yield* walk(item, [...path, key], (value) => rebuild({ ...record, [key]: value }))
      }
      return
    }
    yield { what: `change ${path.join('.')}`, document: rebuild(changedLeaf(node)) }
  }
  yield* walk(root, [], (value) => value)
}

function changedLeaf(value: unknown): unknown {
  switch (typeof value) {
    case 'string':
      return value === '' ? 'x' : `${value.slice(0, -1)}${value.endsWith('A') ? 'B' : 'A'}`
    case 'number':
      return value + 1
    case 'boolean':
      return !value
    default:
      return 'changed'
  }
}

function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys)
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([key, item]) => [key, reverseKeys(item)]),
    )
  }
  return value
}

t.test('a key prepared once signs exactly as the PEM does (Ed25519 is deterministic)', async (t) => {
  const keys = generateSigningKeys()
  const unsigned = {
    apiVersion: 'shoal/v1' as const,
    kind: 'NodeDesiredState' as const,
    nodeId: 'pi-1',
    generation: 3,
    issuedAt: '2026-12-06T00:00:00.000Z',
    workloads: [],
  }
  const prepared = prepareSigningKey(keys.privateKeyPem)
  t.same(signDocument(unsigned, prepared), signDocument(unsigned, keys.privateKeyPem))
  t.doesNotThrow(() => verifyDocumentSignature(signDocument(unsigned, prepared), keys.publicKey))
})
