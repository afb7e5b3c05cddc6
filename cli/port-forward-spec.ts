import { NodeId, Name } from '../protocol/primitives.js'
import { CliError, ExitCode } from './io.js'

/** What `shoal port-forward` tunnels to: a deployment's copy, or a node itself. */
export type ForwardSubject = { readonly kind: 'deployment'; readonly name: string } | { readonly kind: 'node'; readonly name: string }

/** Where it listens (0: a free port) and the port on the other side. */
export interface ForwardPorts {
  readonly local: number
  readonly remote: number
}

/** `NAME` or `deployment/NAME` is a deployment; `node/NAME` the node itself. Pure. */
export function forwardSubjectOf(text: string): ForwardSubject {
  const slash = text.indexOf('/')
  const kind = slash === -1 ? 'deployment' : text.slice(0, slash).toLowerCase()
  const name = slash === -1 ? text : text.slice(slash + 1)
  if ((kind === 'node' || kind === 'nodes') && NodeId.safeParse(name).success) return { kind: 'node', name }
  if ((kind === 'deployment' || kind === 'deploy') && Name.safeParse(name).success) return { kind: 'deployment', name }
  throw new CliError(`expected a deployment name, deployment/NAME or node/NAME, got ${JSON.stringify(text)}`, ExitCode.usage)
}

function port(text: string, what: string, allowZero: boolean): number {
  const value = Number(text)
  if (!/^\d+$/.test(text) || value > 65535 || value < (allowZero ? 0 : 1))
    throw new CliError(`${what} port must be a whole number from ${allowZero ? 0 : 1} to 65535, got ${JSON.stringify(text)}`, ExitCode.usage)
  return value
}

/**
 * kubectl's spelling: `REMOTE` listens on the same port locally, `LOCAL:REMOTE` on LOCAL, and
 * `:REMOTE` or `0:REMOTE` on a free port (printed). Pure.
 */
export function forwardPortsOf(text: string): ForwardPorts {
  const colon = text.indexOf(':')
  if (colon === -1) {
    const remote = port(text, 'the remote', false)
    return { local: remote, remote }
  }
  const localText = text.slice(0, colon)
  return { local: localText === '' ? 0 : port(localText, 'the local', true), remote: port(text.slice(colon + 1), 'the remote', false) }
}
