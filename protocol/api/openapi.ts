import { z } from 'zod'
import { EnrollmentRequest, EnrollmentResponse } from '../enrollment.js'
import { Inventory } from '../inventory.js'
import { Deployment } from '../manifest.js'
import { IsoTime, Labels } from '../primitives.js'
import { RolloutStrategy } from '../rollout-strategy.js'
import { Change } from './changes.js'
import { DeploymentDeleted, DeploymentDetail, DeploymentList, DeploymentPlacement, DeploymentView, RolloutSummary } from './deployments.js'
import { ApiErrorBody, ErrorDetail } from './envelopes.js'
import { AuditEntry, AuditList, EventList, EventView } from './events.js'
import { Health } from './health.js'
import { LogStreamRecord } from './logs.js'
import { AppliedManifest, ApplyResponse, DryRunResponse, ManifestsResponse, PreviewedManifest } from './manifests.js'
import {
  DrainResult,
  NodeCondition,
  NodeDetail,
  NodeList,
  NodePatch,
  NodePolicyView,
  NodeRevoked,
  NodeView,
  PlacementView,
  WorkloadStatusView,
} from './nodes.js'
import { RevisionChange, RevisionHistory, RevisionView, RolloutCondition, RolloutCopyView, RolloutFailure, RolloutStatus, UndoRequest } from './rollouts.js'
import { API_ROUTES, type ApiRoute } from './routes.js'
import { TokenCreated, TokenList, TokenRequest, TokenRevoked, TokenView } from './tokens.js'

/** Schemas of answers, by component name: what the hub sends (defaults filled in). */
const ANSWERS: Readonly<Record<string, z.ZodType>> = {
  Time: IsoTime,
  Labels,
  ApiError: ApiErrorBody,
  ErrorDetail,
  Health,
  EnrollmentResponse,
  TokenCreated,
  TokenView,
  TokenList,
  TokenRevoked,
  ApplyResponse,
  AppliedManifest,
  DryRunResponse,
  PreviewedManifest,
  ManifestsResponse,
  NodeCondition,
  NodePolicy: NodePolicyView,
  NodeView,
  NodeDetail,
  NodeList,
  NodeRevoked,
  PlacementView,
  WorkloadStatusView,
  Inventory,
  DrainResult,
  Deployment,
  RolloutStrategy,
  DeploymentView,
  DeploymentDetail,
  DeploymentPlacement,
  DeploymentList,
  DeploymentDeleted,
  RolloutSummary,
  RolloutStatus,
  RolloutCondition,
  RolloutFailure,
  RolloutCopyView,
  RevisionHistory,
  RevisionView,
  RevisionChange,
  EventView,
  EventList,
  AuditEntry,
  AuditList,
  Change,
  LogStreamRecord,
}

/** Schemas of requests, by component name: what a client may send (defaults optional). */
const REQUESTS: Readonly<Record<string, z.ZodType>> = {
  Time: IsoTime,
  Labels,
  EnrollmentRequest,
  TokenRequest,
  NodePatch,
  UndoRequest,
  DeploymentManifest: Deployment,
}

const COMPONENT_PREFIX = '#/components/schemas/'

/** Component schemas of one direction; every schema in `named` is a component, referenced wherever it is used. */
function components(named: Readonly<Record<string, z.ZodType>>, extra: ReadonlyMap<z.ZodType, string>, io: 'input' | 'output') {
  const registry = z.registry<{ id: string }>()
  const ids = new Map<z.ZodType, string>()
  for (const [id, schema] of [...Object.entries(named), ...[...extra].map(([schema, id]) => [id, schema] as const)]) {
    if (ids.has(schema)) continue
    registry.add(schema, { id })
    ids.set(schema, id)
  }
  const { schemas } = z.toJSONSchema(registry, { io, target: 'draft-2020-12', uri: (id) => `${COMPONENT_PREFIX}${id}` })
  // Components sit inside the document: no dialect or id of their own.
  for (const schema of Object.values(schemas)) {
    delete schema.$schema
    delete schema.$id
  }
  return { schemas, ids }
}

/** `/api/v1/nodes/:id` as OpenAPI writes it, `/api/v1/nodes/{id}`, and its parameter names. */
export function openApiPath(path: string): { path: string; params: string[] } {
  const params: string[] = []
  const templated = path.replace(/:([a-zA-Z]+)/g, (_, name: string) => {
    params.push(name)
    return `{${name}}`
  })
  return { path: templated, params }
}

function inlineSchema(schema: z.ZodType): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io: 'input', target: 'draft-2020-12' })
  return rest
}

function isOptional(schema: z.ZodType): boolean {
  return schema.safeParse(undefined).success
}

/**
 * The hub's API as an OpenAPI 3.1 document, built from API_ROUTES and the zod schemas of
 * protocol/api: served at GET /api/v1/openapi.json. Pure; `version` is the hub's.
 */
export function openApiDocument(version: string) {
  const routes: readonly [string, ApiRoute][] = Object.entries(API_ROUTES)
  // A route's schema that has no component name of its own is named for the route.
  const unnamed = (named: Readonly<Record<string, z.ZodType>>, pick: (route: ApiRoute) => z.ZodType | undefined, suffix: string) => {
    const known = new Set(Object.values(named))
    const extra = new Map<z.ZodType, string>()
    for (const [name, route] of routes) {
      const schema = pick(route)
      if (schema && !known.has(schema) && !extra.has(schema)) extra.set(schema, `${name[0]?.toUpperCase()}${name.slice(1)}${suffix}`)
    }
    return extra
  }
  const answers = components(
    ANSWERS,
    unnamed(ANSWERS, (route) => route.reply.schema, 'Reply'),
    'output',
  )
  const requests = components(
    REQUESTS,
    unnamed(REQUESTS, (route) => route.body?.schema, 'Body'),
    'input',
  )
  for (const [id, schema] of Object.entries(requests.schemas)) {
    const answer = answers.schemas[id]
    if (answer && JSON.stringify(answer) !== JSON.stringify(schema))
      throw new Error(`component ${id} differs as a request and as an answer; name the two apart`)
  }
  const ref = (ids: ReadonlyMap<z.ZodType, string>, schema: z.ZodType) => ({ $ref: `${COMPONENT_PREFIX}${ids.get(schema)}` })

  const paths: Record<string, Record<string, unknown>> = {}
  for (const [name, route] of routes) {
    const { path, params } = openApiPath(route.path)
    const parameters = [
      ...params.map((param) => ({ name: param, in: 'path', required: true, schema: { type: 'string' } })),
      ...Object.entries(route.query?.shape ?? {}).map(([param, schema]) => {
        const { description, ...rest } = inlineSchema(schema as z.ZodType)
        return { name: param, in: 'query', required: !isOptional(schema as z.ZodType), ...(description ? { description } : {}), schema: rest }
      }),
    ]
    const { reply, body } = route
    const operation = {
      operationId: name,
      summary: route.summary,
      ...(route.public ? { security: [] } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(body
        ? {
            requestBody: {
              required: true,
              ...(body.many ? { description: 'one or more documents (YAML separated by ---, or JSON)' } : {}),
              content: Object.fromEntries(
                (body.type === 'application/yaml' ? ['application/yaml', 'application/json'] : [body.type]).map((type) => [
                  type,
                  { schema: ref(requests.ids, body.schema) },
                ]),
              ),
            },
          }
        : {}),
      responses: {
        [String(reply.status)]: {
          description:
            reply.type === 'application/json' ? 'the answer' : reply.schema ? `a stream of ${reply.type}; each record as the schema says` : reply.type,
          content: { [reply.type]: reply.schema ? { schema: ref(answers.ids, reply.schema) } : {} },
        },
        default: { description: 'a refusal or failure', content: { 'application/json': { schema: ref(answers.ids, ApiErrorBody) } } },
      },
    }
    const item = paths[path] ?? {}
    item[route.method.toLowerCase()] = operation
    paths[path] = item
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Shoal hub API',
      version,
      description:
        'Generated from the zod schemas in protocol/api/ (the one declaration of every request and answer). Every route takes the admin token as a bearer token, except those with `security: []`.',
    },
    paths,
    components: {
      schemas: { ...answers.schemas, ...requests.schemas },
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: "the admin token from the hub's data directory" } },
    },
    security: [{ adminToken: [] }],
  }
}
