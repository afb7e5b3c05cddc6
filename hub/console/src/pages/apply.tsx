import { useRef, useState } from 'preact/hooks'
import { ApiError } from '../api/client'
import type { AppliedManifest, PreviewedManifest, ManifestIssue, NodeView } from '../api/types'
import { ErrorNote, Section } from '../components/bits'
import { ManifestEditor, type ManifestEditorHandle } from '../components/manifest-editor'
import { FilteredNodes, PlacementTable } from '../components/placement-table'
import { loadDraft, saveDraft } from '../drafts'
import { useLive, useNow, useResource } from '../live'
import { Link, deploymentHref, nodeHref } from '../router'

const SAMPLE = `apiVersion: shoal/v1
kind: Deployment
metadata:
  name: hello
spec:
  mode: every-node
  selector:
    matchLabels: { site: factory-7 }
  template:
    image: registry.local/hello:1
    restartPolicy: always
`

type Outcome =
  | { readonly kind: 'none' }
  | { readonly kind: 'refused'; readonly text: string; readonly issues: readonly ManifestIssue[]; readonly message: string }
  | { readonly kind: 'applied'; readonly results: readonly AppliedManifest[] }
  | { readonly kind: 'preview'; readonly results: readonly PreviewedManifest[] }

/**
 * Apply manifests from an editor. The hub validates them (the same rules as `shoal validate`)
 * and, when it refuses, its located problems are marked at their lines in the editor; a
 * manifest it takes shows where it was placed, and the placement keeps updating.
 */
export function ApplyPage() {
  const { client } = useLive()
  const [text, setText] = useState(() => loadDraft() ?? SAMPLE)
  const [outcome, setOutcome] = useState<Outcome>({ kind: 'none' })
  const [error, setError] = useState<Error | null>(null)
  const [busy, setBusy] = useState(false)
  const editor = useRef<ManifestEditorHandle>(null)

  const edit = (value: string): void => {
    setText(value)
    saveDraft(value)
  }
  const submit = async (dryRun: boolean): Promise<void> => {
    setBusy(true)
    setError(null)
    const sent = text
    try {
      if (dryRun) setOutcome({ kind: 'preview', results: (await client.dryRun(sent)).results })
      else setOutcome({ kind: 'applied', results: (await client.apply(sent)).results })
    } catch (e) {
      if (e instanceof ApiError && e.status === 400) {
        const issues = e.manifestIssues()
        setOutcome({
          kind: 'refused',
          text: sent,
          issues,
          message: issues.length > 0 ? `The hub refused the manifests: ${issues.length} problem${issues.length === 1 ? '' : 's'}.` : e.message,
        })
        const first = issues.find((i) => i.line !== undefined)
        if (first?.line !== undefined) editor.current?.goTo(first.line, first.column)
      } else {
        setOutcome({ kind: 'none' })
        setError(e instanceof Error ? e : new Error(String(e)))
      }
    } finally {
      setBusy(false)
    }
  }

  // Marks hold only for the text the hub checked; once it is edited, the list stays but dims.
  const refused = outcome.kind === 'refused' ? outcome : null
  const current = refused !== null && refused.text === text
  return (
    <div class="page apply">
      <header class="page-head">
        <h1>Apply a manifest</h1>
        <div class="toolbar">
          <button type="button" disabled={busy} onClick={() => void submit(true)} title="show where it would be placed, change nothing">
            Dry run
          </button>
          <button type="button" class="primary" disabled={busy} onClick={() => void submit(false)}>
            {busy ? 'Sending…' : 'Apply'}
          </button>
        </div>
      </header>
      <p class="muted">
        YAML or JSON, one or more documents separated by <code>---</code>. See <code>docs/manifest.md</code> or <code>shoal schema deployment</code> for every
        field.
      </p>
      <ManifestEditor value={text} onInput={edit} issues={current ? refused.issues : []} handle={editor} />
      <ErrorNote error={error} />
      {refused ? (
        <div class={`problems ${current ? '' : 'stale'}`} role="alert" aria-label="problems">
          <p>
            <strong>{refused.message}</strong> {current ? '' : '(from before your last edit)'}
          </p>
          <ul>
            {refused.issues.map((issue, i) => (
              <li key={i} data-issue-line={issue.line ?? ''}>
                {issue.line !== undefined ? (
                  <button type="button" class="link" onClick={() => editor.current?.goTo(issue.line ?? 1, issue.column)}>
                    Line {issue.line}
                    {issue.column !== undefined ? `:${issue.column}` : ''}
                  </button>
                ) : (
                  <span>Document {issue.documentIndex ?? 0}</span>
                )}{' '}
                {issue.path ? <code>{issue.path}</code> : null} {issue.message}
              </li>
            ))}
          </ul>
        </div>
      ) : null}
      {outcome.kind === 'applied' ? <Applied results={outcome.results} /> : null}
      {outcome.kind === 'preview' ? <Preview results={outcome.results} /> : null}
    </div>
  )
}

function Applied(props: { results: readonly AppliedManifest[] }) {
  return (
    <div class="results" aria-label="applied">
      {props.results.map((r) => (
        <Section
          key={r.name}
          title={`${r.kind} ${r.name}: ${r.outcome}, revision ${r.revision}`}
          actions={<Link href={deploymentHref(r.name)}>Open deployment</Link>}
        >
          <LivePlacement name={r.name} />
        </Section>
      ))}
    </div>
  )
}

/** The placement of a just-applied deployment, updating as its copies start. */
function LivePlacement(props: { name: string }) {
  const { client } = useLive()
  const now = useNow(2000)
  const deployment = useResource(`applied/${props.name}`, () => client.deployment(props.name), {
    when: (c) => (c.type === 'deployment' && c.name === props.name) || (c.type === 'node' && c.reason !== 'heartbeat'),
    minIntervalMs: 750,
  })
  const nodes = useResource('applied-nodes', () => client.nodes(), { when: (c) => c.type === 'node' && c.reason !== 'heartbeat', minIntervalMs: 1500 })
  const d = deployment.data
  if (!d) return <ErrorNote error={deployment.error} />
  const byId = new Map<string, NodeView>((nodes.data?.items ?? []).map((n) => [n.id, n]))
  return (
    <div data-applied={d.name}>
      <p class={d.pending > 0 ? 'why' : 'muted'}>
        {d.placed} of {d.desired} placed, {d.ready} ready{d.pending > 0 ? `, ${d.pending} pending` : ''}. {d.why}
      </p>
      {Object.keys(d.filtered).length > 0 ? <FilteredNodes filtered={d.filtered} /> : null}
      <PlacementTable deployment={d} nodes={byId} now={now} />
    </div>
  )
}

function Preview(props: { results: readonly PreviewedManifest[] }) {
  return (
    <div class="results" aria-label="dry run">
      {props.results.map((r) => (
        <Section key={r.name} title={`${r.kind} ${r.name}: would place ${r.placements.length} of ${r.desired}`}>
          {r.why ? <p class={r.pending > 0 ? 'why' : 'muted'}>{r.why}</p> : null}
          {r.placements.length > 0 ? (
            <ul class="chips">
              {r.placements.map((p) => (
                <li key={`${p.nodeId}/${p.replica}`} class="chip">
                  <Link href={nodeHref(p.nodeId)}>{p.nodeId}</Link>
                </li>
              ))}
            </ul>
          ) : null}
          <p class="muted">Dry run: nothing was changed.</p>
        </Section>
      ))}
    </div>
  )
}
