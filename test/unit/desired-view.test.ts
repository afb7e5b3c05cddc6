// What the reconciler works towards and what image collection keeps (agent/desired-view.ts).
import { pino, type Logger } from 'pino'
import t from 'tap'
import { composeDesiredView, StaticWorkloads, wantedImages } from '../../agent/desired-view.js'
import type { StaticLoadResult } from '../../agent/static-workloads.js'
import type { StoredDesired } from '../../agent/store/agent-store.js'
import type { Workload } from '../../protocol/index.js'

function workload(name: string, image = `${name}:1`, fallbackImage?: string): Workload {
  const template = (img: string) => ({ image: img, restartPolicy: 'always', network: 'host' }) as Workload['template']
  return {
    name,
    deployment: name,
    revision: 2,
    template: template(image),
    ...(fallbackImage ? { fallback: { revision: 1, template: template(fallbackImage), revertWindowSeconds: 60 } } : {}),
  }
}

function stored(generation: number, workloads: Workload[]): StoredDesired {
  return {
    generation,
    acceptedAt: '2030-01-01T00:00:00.000Z',
    document: {
      apiVersion: 'shoal/v1',
      kind: 'NodeDesiredState',
      nodeId: 'n',
      generation,
      issuedAt: '2030-01-01T00:00:00.000Z',
      workloads,
      keyId: 'k',
      signature: 's',
    },
  }
}

t.test("composeDesiredView: the hub's workloads, then the static ones, at the hub's generation", async (t) => {
  const view = composeDesiredView(stored(7, [workload('api')]), [workload('static-cam')], true)
  t.strictSame(
    view.workloads.map((w) => w.name),
    ['api', 'static-cam'],
  )
  t.equal(view.generation, 7)
  t.equal(view.keepUnknown, false)
})

t.test('composeDesiredView: before the hub has sent anything, unknown containers are kept', async (t) => {
  t.strictSame(composeDesiredView(null, [workload('static-cam')], true), { workloads: [workload('static-cam')], generation: 0, keepUnknown: true })
  t.strictSame(composeDesiredView(null, [], false), { workloads: [], generation: 0, keepUnknown: false }, 'without a hub there is nothing to wait for')
})

t.test("wantedImages: every desired workload's image, its fallback's, and every local revert's", async (t) => {
  t.strictSame(wantedImages([workload('api', 'api:2', 'api:1'), workload('db')], [{ template: workload('x', 'old:0').template }]), [
    'api:2',
    'api:1',
    'db:1',
    'old:0',
  ])
  t.strictSame(wantedImages([], []), [])
  const ahead: Workload = { ...workload('web', 'web:1'), prefetch: { revision: 3, template: workload('web', 'web:3').template } }
  t.strictSame(wantedImages([ahead], []), ['web:1', 'web:3'], 'the next revision pulled ahead of its rollout is kept too')
})

function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = []
  return { logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) }), lines }
}

t.test('StaticWorkloads: the last read wins; a bad manifest is logged and left out', async (t) => {
  const { logger, lines } = capturingLogger()
  let next: StaticLoadResult = { workloads: [workload('static-a')], cronJobs: [], errors: ['b.yaml: not a Deployment'] }
  const reads: string[] = []
  const statics = new StaticWorkloads('/etc/shoal/static', logger, (dir) => {
    reads.push(dir)
    return next
  })
  t.strictSame(statics.current(), [], 'nothing before the first read')
  statics.reload()
  t.strictSame(
    statics.current().map((w) => w.name),
    ['static-a'],
  )
  t.strictSame(
    lines.map((l) => [l['level'], l['msg'], l['staticDir']]),
    [[50, 'static manifest: b.yaml: not a Deployment', '/etc/shoal/static']],
  )
  next = { workloads: [], cronJobs: [], errors: [] }
  statics.reload()
  t.strictSame(statics.current(), [], 'a removed file removes its workload')
  t.strictSame(reads, ['/etc/shoal/static', '/etc/shoal/static'])
})

t.test('StaticWorkloads without a directory reads nothing', async (t) => {
  const statics = new StaticWorkloads(null, pino({ level: 'silent' }), () => t.fail('read') as never)
  statics.reload()
  t.strictSame(statics.current(), [])
})
