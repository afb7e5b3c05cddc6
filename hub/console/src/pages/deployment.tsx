import type { NodeView } from '../api/types'
import { ErrorNote, Loading, Section } from '../components/bits'
import { ContainerTable, hasContainers } from '../components/container-table'
import { FilteredNodes, PlacementTable } from '../components/placement-table'
import { RevisionsSection, RolloutSection, useRollout } from '../components/rollout-panel'
import { deploymentChoices } from '../components/terminal-choices'
import { TerminalPanel } from '../components/terminal-panel'
import { ago } from '../format'
import { useLive, useNow, useResource } from '../live'
import { navigate } from '../router'
import { saveDraft } from '../drafts'

export function DeploymentPage(props: { name: string }) {
  const { client } = useLive()
  const now = useNow(2000)
  const deployment = useResource(`deployment/${props.name}`, () => client.deployment(props.name), {
    when: (c) => (c.type === 'deployment' && c.name === props.name) || (c.type === 'node' && c.reason !== 'heartbeat'),
    minIntervalMs: 750,
  })
  // Node conditions for the placement view: which copies sit on an offline node.
  const nodes = useResource('deployment-nodes', () => client.nodes(), { when: (c) => c.type === 'node' && c.reason !== 'heartbeat', minIntervalMs: 1500 })
  const rollout = useRollout(props.name, () => deployment.reload())

  if (!deployment.data) {
    return (
      <div class="page">
        <h1>{props.name}</h1>
        {deployment.error ? <ErrorNote error={deployment.error} /> : <Loading />}
      </div>
    )
  }
  const d = deployment.data
  const nodeById = new Map<string, NodeView>((nodes.data?.items ?? []).map((n) => [n.id, n]))
  return (
    <div class="page deployment" data-deployment={d.name}>
      <header class="page-head">
        <h1>
          {d.name}{' '}
          <span class={`badge ${d.ready >= d.desired && d.pending === 0 ? 'ok' : 'warn'}`}>
            {d.ready} / {d.desired} ready
          </span>
        </h1>
        <div class="toolbar">
          <button
            type="button"
            onClick={() => {
              // As YAML, in the order it was written: what was applied comes back to be edited.
              saveDraft(d.manifestYaml)
              navigate('/apply')
            }}
          >
            Edit and apply
          </button>
        </div>
      </header>
      <ErrorNote error={deployment.error} prefix="could not refresh" />
      <p class="summary-line">
        {d.mode === 'every-node' ? 'One copy on every matching node' : `${d.desired} replica${d.desired === 1 ? '' : 's'}`} · revision {d.revision} · placed{' '}
        {d.placed} · updated {ago(d.updatedAt, now)}
      </p>
      {d.pending > 0 || (d.why && d.placed < d.desired) ? (
        <div class="why" role="status" data-testid="why-pending">
          <strong>{d.pending} pending.</strong> {d.why}
        </div>
      ) : d.why ? (
        <p class="muted" data-testid="why">
          {d.why}
        </p>
      ) : null}
      {Object.keys(d.filtered).length > 0 ? (
        <Section title="Nodes turned down">
          <FilteredNodes filtered={d.filtered} />
        </Section>
      ) : null}
      <RolloutSection state={rollout} now={now} />
      <Section title="Placement">
        <PlacementTable deployment={d} nodes={nodeById} now={now} />
      </Section>
      <Section title="Terminal">
        <TerminalPanel choices={deploymentChoices(d, nodeById)} pick="copy" empty="No copy is placed yet, so there is nowhere to open a terminal." />
      </Section>
      {hasContainers(d) ? (
        <Section title="Containers">
          <ContainerTable deployment={d} />
        </Section>
      ) : null}
      <RevisionsSection state={rollout} now={now} />
      <Section title="Spec">
        <pre class="spec" aria-label="spec">
          {d.manifestYaml}
        </pre>
      </Section>
    </div>
  )
}
