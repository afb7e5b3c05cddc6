import { useState } from 'preact/hooks'
import { ApiError, verifyToken } from '../api/client'

/** Asks for the admin token, checks it against the hub, and hands it on. */
export function SignInPage(props: { onSignIn: (token: string) => void; reason: string | null }) {
  const [token, setToken] = useState('')
  const [error, setError] = useState<string | null>(props.reason)
  const [busy, setBusy] = useState(false)

  const submit = async (): Promise<void> => {
    const value = token.trim()
    if (!value) {
      setError('paste the admin token first')
      return
    }
    setBusy(true)
    setError(null)
    try {
      await verifyToken(value)
      props.onSignIn(value)
    } catch (e) {
      setError(
        e instanceof ApiError && e.status === 401
          ? 'the hub does not accept this token; copy it again from the hub data directory'
          : e instanceof Error
            ? e.message
            : String(e),
      )
    } finally {
      setBusy(false)
    }
  }

  return (
    <main class="sign-in">
      <form
        class="card sign-in-card"
        onSubmit={(event) => {
          event.preventDefault()
          void submit()
        }}
      >
        <h1>
          <span class="logo" aria-hidden="true">
            ≋
          </span>{' '}
          Shoal
        </h1>
        <p>
          Sign in with the hub's admin token. It is in the file <code>admin-token</code> in the hub's data directory.
        </p>
        <label>
          Admin token
          <input
            type="password"
            name="token"
            aria-label="admin token"
            autocomplete="off"
            autofocus
            value={token}
            onInput={(e) => setToken((e.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Checking…' : 'Sign in'}
        </button>
        {error ? (
          <p class="error-note" role="alert">
            {error}
          </p>
        ) : null}
        <p class="muted small">The token is kept for this browser tab only (session storage).</p>
      </form>
    </main>
  )
}
