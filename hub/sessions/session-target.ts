import type { SessionRequest } from '../../protocol/api/sessions.js'
import type { SessionTarget } from '../../protocol/session.js'

/** One copy of a deployment, as the hub placed it. */
export interface SessionCopy {
  readonly nodeId: string
  readonly workload: string
  /** The scheduler's ordinal of the copy (orders a node's copies). */
  readonly replica: number
}

/** What the hub knows that the decision needs; gathered by the caller, so this stays pure. */
export interface SessionTargetFacts {
  /** Null when no deployment of the request's name exists. */
  readonly copies: readonly SessionCopy[] | null
  /** Whether a node of that name is enrolled. */
  readonly nodeExists: (nodeId: string) => boolean
}

export type ResolvedSession =
  | { readonly ok: true; readonly nodeId: string; readonly target: SessionTarget }
  | { readonly ok: false; readonly code: 'no-target' | 'bad-request'; readonly message: string }

function refuse(code: 'no-target' | 'bad-request', message: string): ResolvedSession {
  return { ok: false, code, message }
}

function listed(copies: readonly SessionCopy[]): string {
  return copies.map((copy) => `node ${copy.nodeId} workload ${copy.workload}`).join(', ')
}

/** The deployment a request names, if any (a port-forward to a node itself names none). */
export function deploymentOf(request: SessionRequest): string | null {
  return request.deployment ?? null
}

/**
 * Which node and which workload a request means: the deployment's only copy, or the one its
 * `node` and `replica` pick; a port-forward may name a node alone. Anything ambiguous or absent
 * is a refusal that lists the copies there are, so the operator can name one. Pure.
 */
export function resolveSessionTarget(request: SessionRequest, facts: SessionTargetFacts): ResolvedSession {
  const deployment = deploymentOf(request)
  if (deployment === null) {
    // Only a port-forward can come without a deployment (the schema requires one otherwise).
    if (request.kind !== 'port-forward') return refuse('bad-request', `a ${request.kind} session needs a deployment`)
    if (request.node === undefined) return refuse('bad-request', 'a port-forward needs a deployment or a node (node/NAME)')
    if (request.replica !== undefined || request.container !== undefined)
      return refuse('bad-request', 'a port-forward to a node itself takes no replica or container')
    if (!facts.nodeExists(request.node)) return refuse('no-target', `node ${request.node} is not enrolled with this hub`)
    return { ok: true, nodeId: request.node, target: targetOf(request, null) }
  }
  if (facts.copies === null) return refuse('no-target', `no deployment named ${deployment}`)
  if (request.node !== undefined && !facts.nodeExists(request.node)) return refuse('no-target', `node ${request.node} is not enrolled with this hub`)
  const all = [...facts.copies].sort(byNodeThenOrdinal)
  if (all.length === 0) return refuse('no-target', `deployment ${deployment} runs on no node yet; see shoal describe deployment ${deployment}`)
  const candidates = request.node === undefined ? all : all.filter((copy) => copy.nodeId === request.node)
  if (candidates.length === 0) return refuse('no-target', `deployment ${deployment} has no copy on node ${request.node}; its copies: ${listed(all)}`)
  const nodes = new Set(candidates.map((copy) => copy.nodeId))
  if (nodes.size > 1) return refuse('no-target', `deployment ${deployment} has copies on ${nodes.size} nodes; name one with --node: ${listed(candidates)}`)
  const picked = pickReplica(deployment, candidates, request.replica)
  if ('message' in picked) return refuse('no-target', picked.message)
  return { ok: true, nodeId: picked.copy.nodeId, target: targetOf(request, picked.copy.workload) }
}

/** Among one node's copies (sorted), the only one or the `replica`-th (1-based). */
function pickReplica(deployment: string, copies: readonly SessionCopy[], replica: number | undefined): { copy: SessionCopy } | { message: string } {
  const node = (copies[0] as SessionCopy).nodeId
  if (replica === undefined) {
    if (copies.length === 1) return { copy: copies[0] as SessionCopy }
    return { message: `node ${node} holds ${copies.length} copies of deployment ${deployment}; name one with --replica 1-${copies.length}: ${listed(copies)}` }
  }
  const copy = copies[replica - 1]
  if (copy === undefined)
    return {
      message: `node ${node} holds ${copies.length} ${copies.length === 1 ? 'copy' : 'copies'} of deployment ${deployment}, so --replica ${replica} names none: ${listed(copies)}`,
    }
  return { copy }
}

function byNodeThenOrdinal(a: SessionCopy, b: SessionCopy): number {
  if (a.nodeId !== b.nodeId) return a.nodeId < b.nodeId ? -1 : 1
  if (a.replica !== b.replica) return a.replica - b.replica
  return a.workload < b.workload ? -1 : a.workload > b.workload ? 1 : 0
}

/** The node's view of the request, once its workload is known (null: the node itself). */
export function targetOf(request: SessionRequest, workload: string | null): SessionTarget {
  const container = request.container !== undefined ? { container: request.container } : {}
  switch (request.kind) {
    case 'exec':
      return {
        kind: 'exec',
        workload: workload as string,
        ...container,
        command: request.command,
        tty: request.tty,
        stdin: request.stdin,
        ...(request.size ? { size: request.size } : {}),
      }
    case 'port-forward':
      return { kind: 'port-forward', ...(workload !== null ? { workload } : {}), ...container, port: request.port }
    case 'cp-from':
    case 'cp-to':
      return { kind: request.kind, workload: workload as string, ...container, path: request.path }
  }
}

/** The audit record's one-line description: the command, ":port", or the path. */
export function sessionDetail(target: SessionTarget): string {
  switch (target.kind) {
    case 'exec':
      return target.command
        .map((arg) => (/^[\w@%+=:,./-]+$/.test(arg) ? arg : JSON.stringify(arg)))
        .join(' ')
        .slice(0, 1000)
    case 'port-forward':
      return `:${target.port}`
    case 'cp-from':
    case 'cp-to':
      return target.path
  }
}
