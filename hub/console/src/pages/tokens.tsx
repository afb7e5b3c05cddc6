import { useState } from 'preact/hooks'
import { ApiError } from '../api/client'
import type { TokenCreated, TokenView } from '../api/types'
import { Empty, ErrorNote, Loading } from '../components/bits'
import { TokenForm } from '../components/token-form'
import { TokenSecret } from '../components/token-secret'
import { ago, localTime, relative } from '../format'
import { useLive, useNow, useResource } from '../live'

type TokenState = 'usable' | 'expired' | 'used up'

const STATE_CLASS = { usable: 'ok', expired: 'bad', 'used up': 'warn' } satisfies Record<TokenState, string>

/** Whether a token still enrolls nodes; expiry counted on this page's clock too, so a row turns as it lapses. */
export function tokenState(token: TokenView, now: number): TokenState {
  if (token.expired || (token.expiresAt !== null && Date.parse(token.expiresAt) <= now)) return 'expired'
  if (token.usesLeft === 0) return 'used up'
  return 'usable'
}

type Panel = { readonly kind: 'none' } | { readonly kind: 'form' } | { readonly kind: 'secret'; readonly created: TokenCreated }

/**
 * Join tokens: the list (uses, uses left, expiry; never a secret), a form to create one whose
 * secret is shown once, and revoke with a confirmation. Tokens are not on the change stream;
 * the list refetches after an enrollment (which uses a token) and after every action here.
 */
export function TokensPage() {
  const { client } = useLive()
  const now = useNow(5000)
  const tokens = useResource('tokens', () => client.tokens(), { when: (c) => c.type === 'node' && c.reason === 'enrolled', minIntervalMs: 750 })
  const [panel, setPanel] = useState<Panel>({ kind: 'none' })
  const [confirming, setConfirming] = useState<string | null>(null)
  const [busy, setBusy] = useState<string | null>(null)
  const [gone, setGone] = useState<ReadonlySet<string>>(new Set())
  const [notice, setNotice] = useState<string | null>(null)
  const [revokeError, setRevokeError] = useState<Error | null>(null)

  const revoke = async (id: string): Promise<void> => {
    setBusy(id)
    setNotice(null)
    setRevokeError(null)
    try {
      await client.revokeToken(id)
      setGone((current) => new Set(current).add(id))
      setNotice(`Token ${id} revoked: it enrolls no more nodes. Nodes it enrolled keep their own credentials.`)
    } catch (e) {
      if (e instanceof ApiError && e.status === 404) {
        setGone((current) => new Set(current).add(id))
        setRevokeError(new Error(`Token ${id} is already gone: the hub has no such token (404 ${e.code}). Someone revoked it meanwhile.`))
      } else {
        setRevokeError(new Error(`Could not revoke token ${id}: ${e instanceof Error ? e.message : String(e)}`))
      }
    } finally {
      setBusy(null)
      setConfirming(null)
      tokens.reload()
    }
  }

  const items = (tokens.data?.items ?? []).filter((t) => !gone.has(t.id))
  return (
    <div class="page tokens">
      <header class="page-head">
        <h1>Join tokens</h1>
        <div class="toolbar">
          <button
            type="button"
            class="primary"
            disabled={panel.kind !== 'none'}
            onClick={() => {
              setNotice(null)
              setPanel({ kind: 'form' })
            }}
          >
            Create a token
          </button>
        </div>
      </header>
      <p class="muted">
        A node enrolls with <code>shoal agent run --data-dir DIR --hub URL --token SECRET</code> and gets its own credentials; the token only lets it in. Tokens
        expire after 24 h unless told otherwise. The same as <code>shoal token create|list|revoke</code>.
      </p>
      {panel.kind === 'form' ? (
        <TokenForm
          create={(request) => client.createToken(request)}
          onCreated={(created) => {
            setPanel({ kind: 'secret', created })
            tokens.reload()
          }}
          onCancel={() => setPanel({ kind: 'none' })}
        />
      ) : null}
      {panel.kind === 'secret' ? <TokenSecret created={panel.created} hubUrl={window.location.origin} onDone={() => setPanel({ kind: 'none' })} /> : null}
      {notice ? (
        <p class="notice" role="status">
          {notice}
        </p>
      ) : null}
      <ErrorNote error={revokeError} />
      <ErrorNote error={tokens.error} prefix={tokens.data ? 'could not refresh' : 'could not load the tokens'} />
      {!tokens.data ? (
        tokens.error ? null : (
          <Loading />
        )
      ) : items.length === 0 ? (
        <Empty>
          No join tokens. Create one to enroll a node, or run <code>shoal token create</code>.
        </Empty>
      ) : (
        <table class="table" aria-label="join tokens">
          <thead>
            <tr>
              <th>ID</th>
              <th>Status</th>
              <th>Labels it applies</th>
              <th class="num">Uses</th>
              <th class="num">Left</th>
              <th>Expires</th>
              <th>Created</th>
              <th>
                <span class="visually-hidden">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {items.map((t) => (
              <TokenRow
                key={t.id}
                token={t}
                now={now}
                confirming={confirming === t.id}
                busy={busy === t.id}
                onAsk={() => {
                  setRevokeError(null)
                  setConfirming(t.id)
                }}
                onCancel={() => setConfirming(null)}
                onRevoke={() => void revoke(t.id)}
              />
            ))}
          </tbody>
        </table>
      )}
    </div>
  )
}

interface TokenRowProps {
  readonly token: TokenView
  readonly now: number
  readonly confirming: boolean
  readonly busy: boolean
  readonly onAsk: () => void
  readonly onCancel: () => void
  readonly onRevoke: () => void
}

function TokenRow(props: TokenRowProps) {
  const { token: t, now } = props
  const state = tokenState(t, now)
  const labels = Object.entries(t.labels)
  return (
    <tr data-token-id={t.id} data-state={state} data-uses={t.uses} data-uses-left={t.usesLeft ?? 'unlimited'} class={state === 'usable' ? '' : 'dead'}>
      <td>
        <code>{t.id}</code>
      </td>
      <td>
        <span class={`badge ${STATE_CLASS[state]}`}>{state}</span>
      </td>
      <td>
        {labels.length === 0 ? (
          <span class="muted">none</span>
        ) : (
          <ul class="chips inline">
            {labels.map(([key, value]) => (
              <li key={key} class="chip">
                <span class="chip-key">{key}</span>=<span class="chip-value">{value}</span>
              </li>
            ))}
          </ul>
        )}
      </td>
      <td class="num" data-testid="uses">
        {t.maxUses === null ? t.uses : `${t.uses} of ${t.maxUses}`}
      </td>
      <td class={`num ${t.usesLeft === 0 ? 'warn-text' : ''}`} data-testid="uses-left">
        {t.usesLeft === null ? 'unlimited' : t.usesLeft}
      </td>
      <td data-testid="expires" data-expires-at={t.expiresAt ?? 'never'}>
        {t.expiresAt === null ? (
          <span class="muted">never</span>
        ) : (
          <time dateTime={t.expiresAt} class={state === 'expired' ? 'bad-text' : ''}>
            {state === 'expired' ? `expired ${ago(t.expiresAt, now)}` : relative(t.expiresAt, now)}
            <span class="muted small block">{localTime(t.expiresAt)}</span>
          </time>
        )}
      </td>
      <td>
        <time dateTime={t.createdAt} title={localTime(t.createdAt)}>
          {ago(t.createdAt, now)}
        </time>
      </td>
      <td class="actions">
        {props.confirming ? (
          <span class="confirm" role="group" aria-label={`confirm revoking token ${t.id}`}>
            <span>Revoke {t.id}? It enrolls no more nodes.</span>{' '}
            <button type="button" class="danger" disabled={props.busy} onClick={props.onRevoke}>
              {props.busy ? 'Revoking…' : 'Yes, revoke'}
            </button>{' '}
            <button type="button" disabled={props.busy} onClick={props.onCancel}>
              Cancel
            </button>
          </span>
        ) : (
          <button type="button" aria-label={`Revoke token ${t.id}`} onClick={props.onAsk}>
            Revoke
          </button>
        )}
      </td>
    </tr>
  )
}
