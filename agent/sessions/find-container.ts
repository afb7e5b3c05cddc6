import { pickContainer } from '../log-server.js'
import { logWorkload } from '../reconcile/copy-members.js'
import type { ObservedContainer } from '../runtime/runtime.js'
import { type ChannelContext, SessionFailure } from './session-channel.js'

/**
 * The container a session targets: the workload's (the container the agent labelled
 * io.shoal.workload with it), or the named container of a several-container copy (its first
 * non-init one by default); a running one first, as logs choose. `running`: refuse a stopped one.
 */
export async function findContainer(
  context: Pick<ChannelContext, 'nodeId' | 'containers' | 'desired'>,
  workload: string,
  container: string | undefined,
  running: boolean,
): Promise<ObservedContainer> {
  const subject = logWorkload(context.desired(), workload, container)
  if ('error' in subject) throw new SessionFailure('not-found', `${subject.error} (node ${context.nodeId})`)
  let containers: readonly ObservedContainer[]
  try {
    containers = await context.containers()
  } catch (error) {
    throw new SessionFailure('failed', `cannot list the containers of node ${context.nodeId}: ${(error as Error).message}`)
  }
  const found = pickContainer(containers, subject.workload)
  if (!found) throw new SessionFailure('not-found', `no container for workload ${subject.workload} on node ${context.nodeId} (is it placed here and started?)`)
  if (running && found.state !== 'running')
    throw new SessionFailure('not-found', `the container of workload ${subject.workload} on node ${context.nodeId} is ${found.state}, not running`)
  return found
}
