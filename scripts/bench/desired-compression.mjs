#!/usr/bin/env node
// desired-compression: what gzip saves on a desired document and what it costs (issue 15 item 3).
//
// For each workload count, one signed desired document built from the real templates of
// test/fixtures/manifests/valid (every Deployment's template, in turn; each workload gets its own
// name, deployment, revision and image tag, as copies of different deployments have), encoded as
// the hub does (protocol/desired-compression.ts). Per zlib level:
//   bytes            the JSON, and the gzipped payload the hub would publish (and its ratio)
//   compressUs       the hub's CPU per document (process.cpuUsage over --iterations), gzipSync
//   inflateUs        the agent's CPU per document, inflateDesired (gunzip bounded by MAX_BYTES.desired)
// and, for scale, the agent's CPU to parse the JSON (`parseUs`, decodeJson) and to verify the
// signature (`verifyUs`), which it pays whether the document came gzipped or not. CPU time, not
// wall time, so other load on the machine moves the figures less; no Docker, no broker.
//
//   node scripts/bench/desired-compression.mjs [--workloads 1,3,10,50,256] [--levels 1,6,9] [--iterations 300]
import { readFileSync, readdirSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { gzipSync } from 'node:zlib'
import { benchArgs } from './lib/args.mjs'
import { machine, machineLoad } from './lib/machine.mjs'
import { note, printResult, round } from './lib/output.mjs'
import { runBenchmark } from './lib/processes.mjs'
import { DIST } from './lib/services.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const FIXTURES = path.join(ROOT, 'test', 'fixtures', 'manifests', 'valid')

const args = benchArgs(
  { workloads: ['1', '3', '10', '50', '256'], levels: ['1', '6', '9'], iterations: 300 },
  'node scripts/bench/desired-compression.mjs: bytes saved by gzipping desired documents, and the CPU it costs the hub and the agent',
)

const load = async (file) => import(pathToFileURL(path.join(DIST, 'protocol', file)).href)

/** Every Deployment template of the valid manifest fixtures, with its deployment name. */
function fixtureTemplates(parseManifests) {
  const templates = []
  for (const file of readdirSync(FIXTURES).sort()) {
    const parsed = parseManifests(readFileSync(path.join(FIXTURES, file), 'utf8'), file)
    for (const { manifest } of parsed.manifests)
      if (manifest.kind === 'Deployment') templates.push({ name: manifest.metadata.name, template: manifest.spec.template })
  }
  return templates
}

/** The image with its tag replaced by 1.<i>: each copy a different revision of its image. */
function retagged(image, i) {
  const slash = image.lastIndexOf('/')
  const colon = image.lastIndexOf(':')
  const name = colon > slash ? image.slice(0, colon) : image
  return `${name}:1.${i}`
}

/** CPU microseconds per call of fn over n calls (user + system of this process). */
function cpuPerCall(fn, n) {
  for (let i = 0; i < Math.min(20, n); i++) fn() // warm up
  const start = process.cpuUsage()
  for (let i = 0; i < n; i++) fn()
  const used = process.cpuUsage(start)
  return (used.user + used.system) / n
}

await runBenchmark(async () => {
  const protocol = await load('index.js')
  const { parseManifests } = await load('manifest-parse.js')
  const { encodeDesired, inflateDesired, COMPRESS_DESIRED_FROM_BYTES, DESIRED_GZIP_LEVEL } = await load('desired-compression.js')
  const templates = fixtureTemplates(parseManifests)
  note(`${templates.length} templates from ${path.relative(ROOT, FIXTURES)}`)
  const keys = protocol.generateSigningKeys()
  const signingKey = protocol.prepareSigningKey(keys.privateKeyPem)
  const started = machineLoad()
  const documents = []
  for (const count of args.workloads.map(Number)) {
    const workloads = Array.from({ length: count }, (_, i) => {
      const { name, template } = templates[i % templates.length]
      const copy = `${name}-${i}`.slice(0, 63)
      return { name: copy, deployment: copy, revision: 1 + (i % 5), template: { ...template, image: retagged(template.image, i) } }
    })
    const unsigned = { apiVersion: 'shoal/v1', kind: 'NodeDesiredState', nodeId: 'pi-17', generation: 42, issuedAt: new Date().toISOString(), workloads }
    const document = protocol.signDocument(unsigned, signingKey)
    const json = protocol.encodeMessage(document)
    const parseUs = cpuPerCall(() => protocol.decodeJson(json, protocol.MAX_BYTES.desired), args.iterations)
    const parsed = protocol.decodeJson(json, protocol.MAX_BYTES.desired)
    const verifyUs = cpuPerCall(() => protocol.verifyDocumentSignature(parsed, keys.publicKey), args.iterations)
    const levels = []
    for (const level of args.levels.map(Number)) {
      const gzipped = gzipSync(json, { level })
      const published = encodeDesired(document, ['gzip'], { level, fromBytes: 0 })
      if (!published.equals(gzipped) && published.length !== json.length) throw new Error('encodeDesired disagrees with gzipSync')
      const inflated = inflateDesired(gzipped)
      if (!Buffer.from(inflated).equals(json)) throw new Error(`level ${level}: the inflated document differs`)
      levels.push({
        level,
        gzipBytes: gzipped.length,
        ratio: round(gzipped.length / json.length, 3),
        savedBytes: json.length - gzipped.length,
        compressUs: round(
          cpuPerCall(() => gzipSync(json, { level }), args.iterations),
          1,
        ),
        inflateUs: round(
          cpuPerCall(() => inflateDesired(gzipped), args.iterations),
          1,
        ),
      })
    }
    note(
      `${count} workload(s): ${json.length} B JSON → ${levels.map((l) => `L${l.level} ${l.gzipBytes} B ${l.compressUs}/${l.inflateUs} µs`).join(', ')}; parse ${round(parseUs, 1)} µs, verify ${round(verifyUs, 1)} µs`,
    )
    documents.push({ workloads: count, jsonBytes: json.length, parseUs: round(parseUs, 1), verifyUs: round(verifyUs, 1), levels })
  }
  printResult({
    benchmark: 'desired-compression',
    at: new Date().toISOString(),
    machine: await machine({ withDocker: false }),
    load: started(),
    templates: templates.length,
    iterations: args.iterations,
    hubSettings: { fromBytes: COMPRESS_DESIRED_FROM_BYTES, level: DESIRED_GZIP_LEVEL },
    documents,
  })
})
