// A deployment's rollout as the deployment page shows it: phase, conditions, counts, the waves of
// copies with each one's gate, the failure, the operator's buttons, and the kept revisions.
import { useState } from 'preact/hooks'
import type { Change, RevisionHistory, RevisionView, RolloutAction, RolloutCopyView, RolloutStatus, RolloutStrategy } from '../api/types'
import { ago, localTime } from '../format'
import { useLive, useResource, type Resource } from '../live'
import { Link, nodeHref } from '../router'
import { Empty, ErrorNote, Loading, Section } from './bits'
import { conditionTone, GateBadge, PhaseBadge } from './rollout-badges'

export interface RolloutState {
  readonly rollout: Resource<RolloutStatus>
  readonly revisions: Resource<RevisionHistory>
  readonly busy: boolean
  readonly error: Error | null
  readonly notice: string | null
  act(action: RolloutAction): void
  undo(toRevision: number): void
}

/** The rollout and the revisions of one deployment, kept current from the change stream, and the actions on them. */
export function useRollout(name: string, onChanged: () => void): RolloutState {
  const { client } = useLive()
  // Gates move with the agents' reports (reason "status") and with nodes going offline.
  const when = (c: Change): boolean => (c.type === 'deployment' && c.name === name) || (c.type === 'node' && c.reason !== 'heartbeat')
  const rollout = useResource(`rollout/${name}`, () => client.rollout(name), { when, minIntervalMs: 750 })
  const revisions = useResource(`revisions/${name}`, () => client.revisions(name), {
    when: (c) => c.type === 'deployment' && c.name === name,
    minIntervalMs: 750,
  })
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<Error | null>(null)
  const [notice, setNotice] = useState<string | null>(null)

  const run = async (work: () => Promise<string | null>): Promise<void> => {
    setBusy(true)
    setError(null)
    setNotice(null)
    try {
      setNotice(await work())
    } catch (e) {
      setError(e instanceof Error ? e : new Error(String(e)))
    } finally {
      setBusy(false)
      rollout.reload()
      revisions.reload()
      onChanged()
    }
  }
  return {
    rollout,
    revisions,
    busy,
    error,
    notice,
    act: (action) => void run(async () => (await client.rolloutAction(name, action), null)),
    undo: (toRevision) =>
      void run(async () => {
        const done = await client.undo(name, toRevision)
        return `Revision ${done.revision} rolls out the template of revision ${done.from}.`
      }),
  }
}

/** Which revision "Undo" goes back to: the stable one while a rollout is under way or failed, else the one before. */
export function undoTarget(rollout: RolloutStatus, revisions: readonly RevisionView[]): RevisionView | null {
  const current = revisions.find((r) => r.current)
  const candidates = revisions.filter((r) => !r.current && (current === undefined || !sameJson(r.template, current.template)))
  if (rollout.phase !== 'complete' && rollout.stableRevision !== null) {
    const stable = candidates.find((r) => r.revision === rollout.stableRevision)
    if (stable) return stable
  }
  return candidates.find((r) => r.revision < rollout.revision) ?? null
}

export function RolloutSection(props: { state: RolloutState; now: number }) {
  const { state, now } = props
  const r = state.rollout.data
  const revisions = state.revisions.data?.items ?? []
  const progressing = r?.phase === 'progressing'
  const held =
    r?.conditions.some((c) => c.type === 'RolloutPaused' && c.status === 'True' && (c.reason === 'AwaitingPromotion' || c.reason === 'CanaryPause')) ?? false
  // Paused during a canary hold, promote still goes on past it (and resumes).
  const stepDone = r !== null && r.copies.filter((c) => c.wave?.startsWith(`step ${r.step + 1}:`)).every((c) => c.gate === 'updated' || c.gate === 'offline')
  const canPromote = r !== null && progressing && r.strategy.type === 'canary' && r.step < r.steps && (held || (r.paused && stepDone))
  const target = r ? undoTarget(r, revisions) : null
  const actions = (
    <>
      <button type="button" disabled={state.busy || !progressing || r?.paused} onClick={() => state.act('pause')} title="no copy starts moving until resumed">
        Pause
      </button>
      <button type="button" disabled={state.busy || !progressing || !r?.paused} onClick={() => state.act('resume')}>
        Resume
      </button>
      <button type="button" disabled={state.busy || !canPromote} onClick={() => state.act('promote')} title="go on past the canary step that holds">
        Promote
      </button>
      <button
        type="button"
        disabled={state.busy || target === null}
        onClick={() => target && state.undo(target.revision)}
        title={
          target ? `roll out revision ${target.revision}'s template (${target.image}) as a new revision` : 'no earlier revision with another template is kept'
        }
      >
        Undo{target ? ` to ${target.revision}` : ''}
      </button>
    </>
  )
  return (
    <Section title="Rollout" actions={actions}>
      <ErrorNote error={state.error} />
      {state.notice ? (
        <p class="notice" role="status">
          {state.notice}
        </p>
      ) : null}
      {r ? (
        <>
          <ErrorNote error={state.rollout.error} prefix="could not refresh" />
          <RolloutBody rollout={r} now={now} />
        </>
      ) : state.rollout.error ? (
        <ErrorNote error={state.rollout.error} />
      ) : (
        <Loading />
      )}
    </Section>
  )
}

function RolloutBody(props: { rollout: RolloutStatus; now: number }) {
  const { rollout: r, now } = props
  return (
    <div class="rollout" data-phase={r.phase} data-revision={r.revision} data-paused={String(r.paused)}>
      <p class="rollout-line" data-testid="rollout-line">
        <PhaseBadge phase={r.phase} paused={r.paused} /> revision <strong>{r.revision}</strong>
        {r.stableRevision !== null && r.stableRevision !== r.revision ? <> from stable revision {r.stableRevision}</> : null}
        {' · '}
        {strategyText(r.strategy, r.step, r.steps)}
        {r.startedAt ? <span title={localTime(r.startedAt)}> · started {ago(r.startedAt, now)}</span> : null}
      </p>
      {r.failure ? (
        <div class="rollout-failure" role="alert" aria-label="rollout failure">
          <strong>{r.failure.reason}</strong>: {r.failure.message}
          {r.failure.nodes.length > 0 ? (
            <ul>
              {r.failure.nodes.map((n) => (
                <li key={n.nodeId}>
                  <Link href={nodeHref(n.nodeId)}>{n.nodeId}</Link>: {n.reason}
                </li>
              ))}
            </ul>
          ) : null}
          <p>
            {r.failure.rolledBack
              ? `Rolled back: every copy returns to revision ${r.stableRevision}.`
              : 'Not rolled back: copies stay where they are until a new revision or an undo.'}
          </p>
        </div>
      ) : null}
      <ul class="counts" aria-label="rollout counts">
        <li data-count="updated">
          <strong>{r.counts.updated}</strong> / {r.counts.total} updated
        </li>
        <li data-count="onRevision">
          <strong>{r.counts.onRevision}</strong> told to run revision {r.revision}
        </li>
        <li data-count="failed" class={r.counts.failed > 0 ? 'bad-text' : ''}>
          <strong>{r.counts.failed}</strong> failed
        </li>
        <li data-count="maxUnavailable">
          at most <strong>{r.counts.maxUnavailable}</strong> down at once
        </li>
      </ul>
      {r.conditions.length > 0 ? <Conditions rollout={r} now={now} /> : null}
      <Waves copies={r.copies} revision={r.revision} now={now} />
    </div>
  )
}

function strategyText(s: RolloutStrategy, step: number, steps: number): string {
  const common = `maxUnavailable ${s.maxUnavailable}${s.minReadySeconds > 0 ? `, minReadySeconds ${s.minReadySeconds}` : ''}${s.partitionBy ? `, one ${s.partitionBy} at a time` : ''}`
  if (s.type !== 'canary') return `rolling, ${common}`
  return `canary, ${step < steps ? `step ${step + 1} of ${steps}` : `past the last of ${steps} steps`}, ${common}`
}

function Conditions(props: { rollout: RolloutStatus; now: number }) {
  return (
    <table class="table compact" aria-label="rollout conditions">
      <thead>
        <tr>
          <th>Condition</th>
          <th>Status</th>
          <th>Reason</th>
          <th>Message</th>
          <th>Since</th>
        </tr>
      </thead>
      <tbody>
        {props.rollout.conditions.map((c) => (
          <tr key={c.type} data-condition-type={c.type} data-status={c.status} data-reason={c.reason}>
            <td>{c.type}</td>
            <td>
              <span class={`badge ${conditionTone(c)}`}>{c.status}</span>
            </td>
            <td>{c.reason}</td>
            <td class="clip" title={c.message}>
              {c.message}
            </td>
            <td title={localTime(c.lastTransitionTime)}>{ago(c.lastTransitionTime, props.now)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  )
}

interface Wave {
  readonly name: string
  readonly copies: RolloutCopyView[]
}

/** Canary steps in order, then the rest; partition values by name; one group when there are no waves. */
export function groupWaves(copies: readonly RolloutCopyView[]): Wave[] {
  const byName = new Map<string, RolloutCopyView[]>()
  for (const copy of copies) {
    const name = copy.wave ?? 'all copies'
    byName.set(name, [...(byName.get(name) ?? []), copy])
  }
  const rank = (name: string): number => {
    const step = /^step (\d+)/.exec(name)
    return step ? Number(step[1]) : name === 'rest' ? Number.MAX_SAFE_INTEGER : 1_000_000
  }
  return [...byName.entries()]
    .map(([name, list]) => ({ name, copies: list.sort((a, b) => a.nodeId.localeCompare(b.nodeId)) }))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.name.localeCompare(b.name))
}

function Waves(props: { copies: readonly RolloutCopyView[]; revision: number; now: number }) {
  if (props.copies.length === 0) return <Empty>No copies to roll out yet.</Empty>
  return (
    <div class="waves">
      {groupWaves(props.copies).map((wave) => (
        <section key={wave.name} class="wave" aria-label={`wave ${wave.name}`} data-wave={wave.name}>
          <h3>
            {wave.name}{' '}
            <span class="muted small">
              {wave.copies.filter((c) => c.gate === 'updated').length} of {wave.copies.length} updated
            </span>
          </h3>
          <table class="table compact" aria-label={`copies in ${wave.name}`}>
            <thead>
              <tr>
                <th>Node</th>
                <th>Workload</th>
                <th class="num">Revision</th>
                <th>Gate</th>
                <th>Ready since</th>
                <th>Why</th>
              </tr>
            </thead>
            <tbody>
              {wave.copies.map((c) => (
                <tr
                  key={`${c.nodeId}/${c.workload}`}
                  data-node-id={c.nodeId}
                  data-gate={c.gate}
                  data-revision={c.revision}
                  data-prefetch={c.prefetch ?? undefined}
                >
                  <td>
                    <Link href={nodeHref(c.nodeId)}>{c.nodeId}</Link>
                  </td>
                  <td>{c.workload}</td>
                  <td class={`num ${c.revision === props.revision ? '' : 'muted'}`}>{c.revision}</td>
                  <td>
                    <GateBadge gate={c.gate} />
                  </td>
                  <td title={c.readySince ? localTime(c.readySince) : ''}>{c.readySince ? ago(c.readySince, props.now) : '–'}</td>
                  <td class="clip" title={c.reason ?? ''}>
                    {c.prefetch && c.prefetch !== 'present' ? <span class="badge">prefetch {c.prefetch}</span> : null} {c.reason ?? ''}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </section>
      ))}
    </div>
  )
}

export function RevisionsSection(props: { state: RolloutState; now: number }) {
  const { state, now } = props
  const items = state.revisions.data?.items ?? []
  const current = items.find((r) => r.current)
  return (
    <Section title="Revisions">
      {!state.revisions.data ? (
        state.revisions.error ? (
          <ErrorNote error={state.revisions.error} />
        ) : (
          <Loading />
        )
      ) : items.length === 0 ? (
        <Empty>No revisions kept.</Empty>
      ) : (
        <table class="table" aria-label="revisions">
          <thead>
            <tr>
              <th class="num">Revision</th>
              <th>Image</th>
              <th>Created</th>
              <th class="num">Copies</th>
              <th />
              <th />
            </tr>
          </thead>
          <tbody>
            {items.map((r) => {
              const same = current !== undefined && !r.current && sameJson(r.template, current.template)
              return (
                <tr key={r.revision} data-revision={r.revision} data-current={String(r.current)} data-stable={String(r.stable)}>
                  <td class="num">{r.revision}</td>
                  <td>
                    <code>{r.image}</code>
                  </td>
                  <td title={localTime(r.createdAt)}>{ago(r.createdAt, now)}</td>
                  <td class="num">{r.copies}</td>
                  <td>
                    {r.current ? <span class="badge info">current</span> : null}
                    {r.stable ? <span class="badge ok">stable</span> : null}
                  </td>
                  <td>
                    {r.current ? null : (
                      <button
                        type="button"
                        class="link"
                        disabled={state.busy || same}
                        title={
                          same
                            ? `the current revision ${current?.revision} has this template already`
                            : `a new revision with revision ${r.revision}'s template, rolled out like any other`
                        }
                        onClick={() => state.undo(r.revision)}
                      >
                        Undo to this revision
                      </button>
                    )}
                  </td>
                </tr>
              )
            })}
          </tbody>
        </table>
      )}
    </Section>
  )
}

/** Equal as JSON, whatever the order of keys (the hub compares templates the same way). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b)
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`
  }
  return JSON.stringify(value) ?? 'null'
}
