// Small pieces every page uses: condition and state badges, usage bars, errors, empty states.
import type { ComponentChildren } from 'preact'
import type { NodeConditionType, NodeCondition, WorkloadState } from '../api/types'
import { bytes, percent } from '../format'

const CONDITION_CLASS: Record<NodeConditionType, string> = { Ready: 'ok', Degraded: 'warn', Offline: 'bad' }

export function conditionClass(type: NodeConditionType): string {
  return CONDITION_CLASS[type]
}

export function ConditionBadge(props: { condition: NodeCondition }) {
  const { type, reasons } = props.condition
  return (
    <span class={`badge ${CONDITION_CLASS[type]}`} data-condition={type} title={reasons.join('; ') || type}>
      {type}
    </span>
  )
}

const STATE_CLASS: Record<WorkloadState, string> = {
  running: 'ok',
  pending: 'muted',
  'pull-deferred': 'warn',
  pulling: 'info',
  starting: 'info',
  exited: 'muted',
  stopped: 'muted',
  'crash-loop': 'bad',
  failed: 'bad',
}

export function StateBadge(props: { state: WorkloadState | 'no report yet' }) {
  const cls = props.state === 'no report yet' ? 'muted' : STATE_CLASS[props.state]
  return (
    <span class={`badge ${cls}`} data-state={props.state}>
      {props.state}
    </span>
  )
}

/** A thin bar with "used / total" beside it; amber past 80 %, red past 95 %. */
export function UsageBar(props: { used: number | null; total: number | null; kind: 'bytes' | 'percent' }) {
  const { used, total } = props
  if (used === null || total === null) return <span class="muted">–</span>
  const share = props.kind === 'percent' ? used : percent(used, total)
  if (share === null) return <span class="muted">–</span>
  const level = share >= 95 ? 'bad' : share >= 80 ? 'warn' : 'ok'
  const label = props.kind === 'percent' ? `${Math.round(share)}%` : `${bytes(used)} / ${bytes(total)}`
  return (
    <span class="usage" title={label}>
      <span class="usage-track">
        <span class={`usage-fill ${level}`} style={{ width: `${share.toFixed(1)}%` }} />
      </span>
      <span class="usage-text">{label}</span>
    </span>
  )
}

export function ErrorNote(props: { error: Error | null; prefix?: string }) {
  if (!props.error) return null
  return (
    <p class="error-note" role="alert">
      {props.prefix ? `${props.prefix}: ` : ''}
      {props.error.message}
    </p>
  )
}

export function Section(props: { title: string; actions?: ComponentChildren; children: ComponentChildren; id?: string }) {
  return (
    <section class="card" aria-label={props.title} id={props.id}>
      <header class="card-head">
        <h2>{props.title}</h2>
        {props.actions ? <div class="card-actions">{props.actions}</div> : null}
      </header>
      {props.children}
    </section>
  )
}

export function Empty(props: { children: ComponentChildren }) {
  return <p class="empty">{props.children}</p>
}

export function Loading() {
  return <p class="muted loading">Loading…</p>
}
