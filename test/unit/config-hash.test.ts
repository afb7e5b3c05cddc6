import t from 'tap'
import { configHash } from '../../agent/reconcile/config-hash.js'
import { ContainerTemplate, type ContainerTemplateInput, type Workload } from '../../protocol/index.js'

function workload(name: string, template: Partial<ContainerTemplateInput> = {}, revision = 1): Workload {
  return {
    name,
    deployment: name,
    revision,
    template: ContainerTemplate.parse({
      image: 'registry.example/ingest:1.4',
      command: ['ingest', '--listen', '127.0.0.1:8080'],
      env: { LEVEL: 'info', REGION: 'eu-1' },
      ...template,
    }),
  }
}

/** Rebuilds every object with its keys in reverse order: the same value, spelled differently. */
function reverseKeys<T>(value: T): T {
  if (Array.isArray(value)) return value.map(reverseKeys) as T
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    ) as T
  }
  return value
}

t.test('is 16 lower-case hex characters and the same every time', async (t) => {
  const hash = configHash(workload('ingest'), 'pi-17')
  t.match(hash, /^[0-9a-f]{16}$/)
  t.equal(configHash(workload('ingest'), 'pi-17'), hash)
})

t.test('is stable under key order', async (t) => {
  const w = workload('ingest', { env: { A: '1', B: '2', C: '3' }, resources: { cpu: 0.5, memory: '128Mi' } })
  const reordered = reverseKeys(w)
  t.not(JSON.stringify(reordered), JSON.stringify(w), 'the spelling really differs')
  t.equal(configHash(reordered, 'pi-17'), configHash(w, 'pi-17'))
})

t.test('survives a trip through JSON (the stored desired document)', async (t) => {
  const w = workload('ingest', { healthCheck: { http: { port: 8080 } }, volumes: [{ name: 'cache', path: '/var/cache' }] })
  t.equal(configHash(JSON.parse(JSON.stringify(w)) as Workload, 'pi-17'), configHash(w, 'pi-17'))
})

t.test('changes with the environment', async (t) => {
  const base = configHash(workload('ingest'), 'pi-17')
  t.not(configHash(workload('ingest', { env: { LEVEL: 'debug', REGION: 'eu-1' } }), 'pi-17'), base, 'a changed value')
  t.not(configHash(workload('ingest', { env: { LEVEL: 'info', REGION: 'eu-1', EXTRA: '' } }), 'pi-17'), base, 'an added variable, even empty')
  t.not(configHash(workload('ingest', { env: { LEVEL: 'info' } }), 'pi-17'), base, 'a removed variable')
  t.not(configHash(workload('ingest', { env: { level: 'info', REGION: 'eu-1' } }), 'pi-17'), base, 'a renamed (case) variable')
})

t.test('changes with anything else that shapes the container', async (t) => {
  const base = configHash(workload('ingest'), 'pi-17')
  const variants: Record<string, Partial<ContainerTemplateInput>> = {
    image: { image: 'registry.example/ingest:1.5' },
    command: { command: ['ingest', '--listen', '0.0.0.0:8080'] },
    args: { args: ['--verbose'] },
    restartPolicy: { restartPolicy: 'on-failure' },
    network: { network: 'bridge' },
    resources: { resources: { memory: '256Mi' } },
    ports: { ports: [{ containerPort: 8080 }] },
    volumes: { volumes: [{ name: 'cache', path: '/cache' }] },
    healthCheck: { healthCheck: { tcp: { port: 8080 } } },
  }
  const seen = new Set([base])
  for (const [field, change] of Object.entries(variants)) {
    const hash = configHash(workload('ingest', change), 'pi-17')
    t.not(hash, base, field)
    seen.add(hash)
  }
  t.equal(seen.size, Object.keys(variants).length + 1, 'every variant hashes differently')
  t.not(configHash(workload('ingest'), 'pi-18'), base, 'another node')
  t.not(configHash(workload('ingest-2'), 'pi-17'), base, 'another workload name')
})

t.test('ignores the revision: a new revision with the same template keeps its container', async (t) => {
  t.equal(configHash(workload('ingest', {}, 7), 'pi-17'), configHash(workload('ingest', {}, 1), 'pi-17'))
})

t.test('treats an absent optional field and an undefined one alike', async (t) => {
  const w = workload('ingest')
  const withUndefined: Workload = { ...w, template: { ...w.template, args: undefined, ports: undefined } }
  t.equal(configHash(withUndefined, 'pi-17'), configHash(w, 'pi-17'))
})
