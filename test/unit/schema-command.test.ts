import t from 'tap'
import { SCHEMAS, jsonSchemaOf, type SchemaName } from '../../cli/commands/schema.js'
import { ExitCode, type CliIo } from '../../cli/io.js'
import { runCli } from '../../cli/program.js'

async function shoal(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = ''
  let err = ''
  const io: CliIo = { out: (text) => void (out += text), err: (text) => void (err += text) }
  const code = await runCli(argv, io)
  return { code, out, err }
}

type JsonSchema = {
  $schema?: string
  type?: string
  properties?: Record<string, JsonSchema>
  required?: string[]
  additionalProperties?: unknown
  default?: unknown
  const?: unknown
  enum?: unknown[]
  pattern?: string
  anyOf?: JsonSchema[]
  items?: JsonSchema
}

const at = (schema: JsonSchema, ...keys: string[]): JsonSchema => {
  let node = schema
  for (const key of keys) {
    const next = node.properties?.[key]
    if (!next) throw new Error(`no property ${keys.join('.')}`)
    node = next
  }
  return node
}

t.test('without a name, it lists every schema', async (t) => {
  const result = await shoal('schema')
  t.equal(result.code, ExitCode.ok)
  for (const name of Object.keys(SCHEMAS)) t.match(result.out, new RegExp(`^${name} `, 'm'), name)
})

t.test('every schema converts to JSON Schema draft 2020-12', async (t) => {
  for (const name of Object.keys(SCHEMAS) as SchemaName[]) {
    const schema = jsonSchemaOf(name) as JsonSchema
    t.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', name)
    t.equal(schema.type, 'object', name)
  }
})

t.test('the deployment schema describes what an operator may write', async (t) => {
  const result = await shoal('schema', 'deployment')
  t.equal(result.code, ExitCode.ok)
  const schema = JSON.parse(result.out) as JsonSchema
  t.same(schema.required?.sort(), ['apiVersion', 'kind', 'metadata', 'spec'])
  t.equal(at(schema, 'apiVersion').const, 'shoal/v1')
  t.equal(at(schema, 'kind').const, 'Deployment')
  t.equal(schema.additionalProperties, false, 'unknown fields are refused, as `replcas` is')
  // A template is one container or several (containers, initContainers).
  const [one, several] = at(schema, 'spec', 'template').anyOf ?? []
  t.equal(one?.additionalProperties, false)
  t.equal(several?.additionalProperties, false)
  t.same(several?.required, ['containers'])
  const container = (several ?? {}).properties?.containers?.items
  t.same(container?.required?.sort(), ['image', 'name'], 'each container has a name and an image')

  t.test('fields with defaults are optional and carry the default (io: input)', async (t) => {
    t.same(at(schema, 'spec').required, ['template'])
    t.equal(at(schema, 'spec', 'offlineGrace').default, '5m')
    t.equal(at(schema, 'spec', 'mode').default, 'replicated')
    t.equal(at(one ?? {}, 'restartPolicy').default, 'always')
    t.equal(at(one ?? {}, 'network').default, 'host')
    t.same(one?.required, ['image'])
    t.equal(at(several ?? {}, 'network').default, 'host')
  })

  t.test('constraints come from the zod schemas', async (t) => {
    t.same(at(one ?? {}, 'restartPolicy').enum, ['always', 'on-failure', 'never'])
    t.match(at(schema, 'metadata', 'name').pattern, /a-z0-9/)
    t.equal(at(schema, 'spec', 'offlineGrace').pattern, '^(\\d+(ms|s|m|h|d))+$')
  })
})

t.test('wire schemas keep defaulted fields optional too, since a receiver accepts them absent', async (t) => {
  const logRequest = jsonSchemaOf('log-request') as JsonSchema
  t.notOk(logRequest.required?.includes('follow'))
  t.equal(at(logRequest, 'follow').default, false)
  const desired = jsonSchemaOf('desired') as JsonSchema
  t.ok(desired.required?.includes('signature'))
})

t.test('an unknown schema name is a usage error that lists the choices', async (t) => {
  const result = await shoal('schema', 'deploymnet')
  t.equal(result.code, ExitCode.usage)
  t.match(result.err, /Allowed choices are deployment, /)
})

t.test('help has an example', async (t) => {
  const result = await shoal('schema', '--help')
  t.equal(result.code, ExitCode.ok)
  t.match(result.out, '$ shoal schema deployment > deployment.schema.json')
})
