import { useState } from 'preact/hooks'
import type { TokenCreated, TokenRequest } from '../api/types'

/** What the operator typed into the form, as text. */
export interface TokenFields {
  readonly expiry: 'ttl' | 'never'
  readonly ttl: string
  readonly maxUses: string
  readonly labels: string
}

/** Without a choice a token expires after a day, as the hub (and kubeadm) default to. */
export const DEFAULT_TTL = '24h'

const DURATION = /^(\d+(ms|s|m|h|d))+$/
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } satisfies Record<string, number>

/**
 * The request the form asks for, or what is wrong with it (in the words of `shoal token create`).
 * Pure. The hub checks again and has the last word (label syntax, for one).
 */
export function tokenRequest(fields: TokenFields): { readonly request: TokenRequest } | { readonly problem: string } {
  const request: { -readonly [K in keyof TokenRequest]: TokenRequest[K] } = {}
  if (fields.expiry === 'never') request.ttl = '0'
  else {
    const ttl = fields.ttl.trim()
    if (!DURATION.test(ttl)) return { problem: `time to live ${JSON.stringify(ttl)}: use a duration such as 30m, 24h or 7d` }
    let ms = 0
    for (const [, amount, unit] of ttl.matchAll(/(\d+)(ms|s|m|h|d)/g)) ms += Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS]
    if (ms === 0) return { problem: 'a time to live of 0 would never expire: choose “Never expires” if that is what you mean' }
    request.ttl = ttl
  }
  const maxUses = fields.maxUses.trim()
  if (maxUses !== '') {
    const uses = Number(maxUses)
    if (!Number.isInteger(uses) || uses < 1)
      return { problem: `max uses ${JSON.stringify(maxUses)}: use a whole number of at least 1, or leave it empty for unlimited` }
    request.maxUses = uses
  }
  const pairs = fields.labels
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '')
  if (pairs.length > 0) {
    const labels: Record<string, string> = {}
    for (const pair of pairs) {
      const at = pair.indexOf('=')
      if (at <= 0) return { problem: `labels: ${JSON.stringify(pair)} is not key=value; separate pairs with commas, e.g. site=factory-7,tier=edge` }
      labels[pair.slice(0, at).trim()] = pair.slice(at + 1).trim()
    }
    request.labels = labels
  }
  return { request }
}

export interface TokenFormProps {
  readonly create: (request: TokenRequest) => Promise<TokenCreated>
  readonly onCreated: (created: TokenCreated) => void
  readonly onCancel: () => void
}

/** Time to live (24 h unless changed, or an explicit "never expires"), max uses and labels. */
export function TokenForm(props: TokenFormProps) {
  const [fields, setFields] = useState<TokenFields>({ expiry: 'ttl', ttl: DEFAULT_TTL, maxUses: '', labels: '' })
  const [problem, setProblem] = useState<string | null>(null)
  const [busy, setBusy] = useState(false)
  const set = (patch: Partial<TokenFields>): void => setFields((current) => ({ ...current, ...patch }))
  const value = (event: Event): string => (event.currentTarget as HTMLInputElement).value

  const submit = async (): Promise<void> => {
    const checked = tokenRequest(fields)
    if ('problem' in checked) {
      setProblem(checked.problem)
      return
    }
    setBusy(true)
    setProblem(null)
    try {
      props.onCreated(await props.create(checked.request))
    } catch (e) {
      setProblem(`The hub refused the token: ${e instanceof Error ? e.message : String(e)}`)
    } finally {
      setBusy(false)
    }
  }

  return (
    <form
      class="card token-form"
      aria-label="create a join token"
      onSubmit={(event) => {
        event.preventDefault()
        void submit()
      }}
    >
      <h2>Create a join token</h2>
      <fieldset>
        <legend>Expiry</legend>
        <label class="check">
          <input type="radio" name="expiry" value="ttl" checked={fields.expiry === 'ttl'} onChange={() => set({ expiry: 'ttl' })} />
          Expires after
        </label>
        <label>
          Time to live
          <input
            name="ttl"
            class="narrow"
            value={fields.ttl}
            disabled={fields.expiry !== 'ttl'}
            aria-describedby="token-ttl-help"
            onInput={(e) => set({ ttl: value(e) })}
          />
        </label>
        <label class="check">
          <input type="radio" name="expiry" value="never" checked={fields.expiry === 'never'} onChange={() => set({ expiry: 'never' })} />
          Never expires
        </label>
        <small id="token-ttl-help" class="muted">
          30m, 24h, 7d… A token that never expires enrolls nodes until it is revoked or used up.
        </small>
      </fieldset>
      <div class="token-form-row">
        <label>
          Max uses
          <input
            name="maxUses"
            type="number"
            min="1"
            step="1"
            class="narrow"
            placeholder="unlimited"
            value={fields.maxUses}
            onInput={(e) => set({ maxUses: value(e) })}
          />
        </label>
        <label class="grow">
          Labels for the nodes it enrolls
          <input name="labels" class="mono" placeholder="site=factory-7,tier=edge" value={fields.labels} onInput={(e) => set({ labels: value(e) })} />
        </label>
      </div>
      {problem ? (
        <p class="error-note" role="alert">
          {problem}
        </p>
      ) : null}
      <div class="toolbar">
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Creating…' : 'Create token'}
        </button>
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  )
}
