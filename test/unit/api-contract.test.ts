import { readFileSync, readdirSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import pino from 'pino'
import t from 'tap'
import ts from 'typescript'
import { API_ROUTES, EventsQuery, openApiDocument, openApiPath } from '../../protocol/api/index.js'
import { buildRoutes, type ApiServices } from '../../hub/api/routes.js'
import { createApiServer } from '../../hub/api/server.js'
import type { TestLike } from '../support/types.js'

// The API contract (protocol/api): one list of routes that the router registers and the OpenAPI
// document describes, component schemas whose every $ref resolves, and a console that takes
// only types from it.

/** The router as the hub builds it. Building only wires handlers; none runs here, so no service is touched. */
const router = buildRoutes({} as unknown as ApiServices)
const doc = openApiDocument('1.2.3')
const METHODS = ['get', 'post', 'patch', 'delete', 'put'] as const

type Operation = {
  operationId: string
  security?: unknown[]
  parameters?: Array<{ name: string; in: string; required: boolean }>
  responses: Record<string, unknown>
}
const operations = Object.entries(doc.paths).flatMap(([p, item]) =>
  METHODS.filter((m) => m in item).map((m) => ({ path: p, method: m.toUpperCase(), operation: item[m] as Operation })),
)

t.test('every route the router serves is in the OpenAPI document, and nothing else is', async (t) => {
  const served = router
    .list()
    .map((r) => `${r.method} ${openApiPath(r.path).path}`)
    .sort()
  const described = operations.map((o) => `${o.method} ${o.path}`).sort()
  t.ok(served.length >= 25, `the router serves ${served.length} routes`)
  t.ok(served.includes('GET /api/v1/openapi.json'), 'including the document itself')
  t.same(described, served)
  t.equal(new Set(served).size, served.length, 'no route registered twice')
  t.same(router.list().length, Object.keys(API_ROUTES).length, 'the router registers every route of API_ROUTES')
})

t.test('public routes are exactly those without security in the document', async (t) => {
  for (const route of router.list()) {
    const item = doc.paths[openApiPath(route.path).path] as Record<string, Operation>
    const operation = item[route.method.toLowerCase()]
    t.ok(operation, `${route.method} ${route.path} is described`)
    if (route.public) t.same(operation?.security, [], `${route.method} ${route.path} is public`)
    else t.equal(operation?.security, undefined, `${route.method} ${route.path} takes the admin token (the document's default)`)
  }
  t.same(doc.security, [{ adminToken: [] }])
  t.match(doc.components.securitySchemes.adminToken, { type: 'http', scheme: 'bearer' })
})

t.test('the document is shaped as OpenAPI 3.1: ids, path parameters, responses', async (t) => {
  t.equal(doc.openapi, '3.1.0')
  t.match(doc.info, { title: String, version: '1.2.3' })
  const ids = operations.map((o) => o.operation.operationId)
  t.equal(new Set(ids).size, ids.length, 'operationIds are unique')
  for (const { path: p, method, operation } of operations) {
    const templated = [...p.matchAll(/\{([^}]+)\}/g)].map((m) => m[1])
    const declared = (operation.parameters ?? []).filter((param) => param.in === 'path')
    t.same(
      declared.map((param) => param.name),
      templated,
      `${method} ${p}: one path parameter per {name}`,
    )
    t.ok(
      declared.every((param) => param.required),
      `${method} ${p}: path parameters are required`,
    )
    const statuses = Object.keys(operation.responses)
    t.ok(
      statuses.some((s) => /^2\d\d$/.test(s)),
      `${method} ${p}: a success response`,
    )
    t.ok(statuses.includes('default'), `${method} ${p}: the error body as default`)
  }
  t.equal(doc.paths['/api/v1/tokens']?.post ? 'described' : 'missing', 'described')
  const created = (doc.paths['/api/v1/tokens'] as Record<string, Operation>).post?.responses
  t.ok(created && '201' in created, 'a 201 route says 201')
  const events = (doc.paths['/api/v1/events'] as Record<string, Operation>).get?.parameters?.map((p) => p.name)
  t.same(events, ['since', 'limit', 'node'], 'query parameters come from the query schema')
})

t.test('every $ref resolves, and every component is a plain schema', async (t) => {
  const refs: string[] = []
  const walk = (value: unknown): void => {
    if (Array.isArray(value)) value.forEach(walk)
    else if (value !== null && typeof value === 'object') {
      for (const [key, inner] of Object.entries(value)) {
        if (key === '$ref' && typeof inner === 'string') refs.push(inner)
        else walk(inner)
      }
    }
  }
  walk(doc)
  t.ok(refs.length > 50, `${refs.length} refs`)
  const resolve = (ref: string): unknown => {
    if (!ref.startsWith('#/')) return undefined
    return ref
      .slice(2)
      .split('/')
      .reduce<unknown>(
        (node, part) =>
          node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined,
        doc,
      )
  }
  const broken = [...new Set(refs)].filter((ref) => resolve(ref) === undefined)
  t.same(broken, [], 'no $ref points at nothing')
  for (const [name, schema] of Object.entries(doc.components.schemas)) {
    t.notOk('$schema' in schema || '$id' in schema, `${name} carries no $schema or $id of its own`)
  }
  for (const name of ['NodeView', 'NodeDetail', 'DeploymentDetail', 'RolloutStatus', 'EventView', 'TokenRequest', 'DeploymentManifest', 'ApiError']) {
    t.ok(name in doc.components.schemas, `component ${name}`)
  }
})

t.test('the events query refuses what the hand-written checks refused, with the same words', async (t) => {
  for (const since of ['abc', '-1', '1.5']) {
    const parsed = EventsQuery.safeParse({ since })
    t.equal(parsed.error?.issues[0]?.message, 'since must be an event id (a whole number ≥ 0)', `since=${since}`)
  }
  for (const limit of ['0', '1001', 'x']) {
    const parsed = EventsQuery.safeParse({ limit })
    t.equal(parsed.error?.issues[0]?.message, 'limit must be between 1 and 1000', `limit=${limit}`)
  }
  t.same(EventsQuery.parse({}), { limit: 200 }, 'the latest 200 by default')
  t.same(EventsQuery.parse({ since: '7', limit: '5', node: 'pi-1' }), { since: 7, limit: 5, node: 'pi-1' })
})

async function serve(t: TestLike): Promise<string> {
  const server = createApiServer({ router, adminToken: 'contract-test-token', logger: pino({ level: 'silent' }), maxBodyBytes: 1024 })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/openapi.json`
}

t.test('GET /api/v1/openapi.json answers the document to the admin token, 401 to anyone else', async (t) => {
  const url = await serve(t)
  const anonymous = await fetch(url)
  t.equal(anonymous.status, 401)
  const answered = await fetch(url, { headers: { authorization: 'Bearer contract-test-token' } })
  t.equal(answered.status, 200)
  t.match(answered.headers.get('content-type'), /^application\/json/)
  const body = (await answered.json()) as { openapi: string; paths: Record<string, unknown> }
  t.equal(body.openapi, '3.1.0')
  t.same(Object.keys(body.paths).sort(), Object.keys(doc.paths).sort())
})

t.test('the console takes only types from protocol/, so nothing of it (nor zod) is bundled', async (t) => {
  const root = fileURLToPath(new URL('../../hub/console/src/', import.meta.url))
  const files = (function list(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? list(path.join(dir, e.name)) : /\.tsx?$/.test(e.name) ? [path.join(dir, e.name)] : [],
    )
  })(root)
  const protocolImports: string[] = []
  const valueImports: string[] = []
  for (const file of files) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true)
    for (const statement of source.statements) {
      const isImport = ts.isImportDeclaration(statement)
      if (!isImport && !ts.isExportDeclaration(statement)) continue
      const specifier = statement.moduleSpecifier
      if (!specifier || !ts.isStringLiteral(specifier)) continue
      const target = specifier.text
      if (target === 'zod') valueImports.push(`${path.relative(root, file)} imports zod`)
      if (!target.includes('protocol/')) continue
      protocolImports.push(path.relative(root, file))
      const typeOnly = isImport ? statement.importClause?.isTypeOnly === true : statement.isTypeOnly
      if (!typeOnly) valueImports.push(`${path.relative(root, file)} imports ${target} as values`)
    }
  }
  t.ok(protocolImports.includes(path.join('api', 'types.ts')), 'the console reads its API types from protocol/api')
  t.same(valueImports, [], 'every import of protocol/ is `import type` or `export type`')
})
