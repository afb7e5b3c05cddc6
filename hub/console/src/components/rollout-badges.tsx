// How a rollout's phase, a copy's gate and a condition look: one class per meaning, as in bits.tsx.
import type { GateState, RolloutCondition, RolloutPhase, RolloutSummary } from '../api/types'

const PHASE_CLASS: Record<RolloutPhase, string> = { progressing: 'info', complete: 'ok', failed: 'bad' }

/** "progressing", "complete", "failed", with "paused" beside it when an operator paused it. */
export function PhaseBadge(props: { phase: RolloutPhase; paused: boolean; title?: string }) {
  return (
    <span class="phase" data-phase={props.phase} data-paused={String(props.paused)} title={props.title}>
      <span class={`badge ${PHASE_CLASS[props.phase]}`}>{props.phase}</span>
      {props.paused && props.phase === 'progressing' ? <span class="badge warn">paused</span> : null}
    </span>
  )
}

/** The deployments list's column: the phase, and the revision being rolled out while it is not complete. */
export function RolloutCell(props: { rollout: RolloutSummary | null }) {
  const r = props.rollout
  if (r === null) return <span class="muted">–</span>
  const title =
    r.failed ??
    (r.phase === 'complete'
      ? `revision ${r.revision} runs everywhere`
      : `rolling out revision ${r.revision}${r.stableRevision === null ? '' : ` from ${r.stableRevision}`}`)
  return <PhaseBadge phase={r.phase} paused={r.paused} title={title} />
}

const GATE_CLASS: Record<GateState, string> = { old: 'muted', progressing: 'info', updated: 'ok', failed: 'bad', offline: 'warn' }
const GATE_TITLE: Record<GateState, string> = {
  old: 'still told to run another revision',
  progressing: 'told to run the new revision; not proven yet (pulling, starting, or within minReadySeconds)',
  updated: 'runs the new revision, healthy for minReadySeconds',
  failed: 'runs the new revision and fails its health gate',
  offline: 'its node is offline: nothing can be known',
}

export function GateBadge(props: { gate: GateState }) {
  return (
    <span class={`badge ${GATE_CLASS[props.gate]}`} data-gate={props.gate} title={GATE_TITLE[props.gate]}>
      {props.gate}
    </span>
  )
}

/** Green when a condition reads well, amber or red when it does not, grey when it says nothing. */
export function conditionTone(c: RolloutCondition): string {
  const on = c.status === 'True'
  switch (c.type) {
    case 'Progressing':
      return on ? 'ok' : 'bad'
    case 'Available':
      return on ? 'ok' : 'warn'
    case 'RolloutPaused':
      return on ? 'warn' : 'muted'
    case 'RolloutFailed':
      return on ? 'bad' : 'muted'
    default: {
      const unknown: never = c.type
      return unknown
    }
  }
}
