import { useState } from 'preact/hooks'
import type { TokenCreated } from '../api/types'
import { labelText, localTime } from '../format'

/** What a node runs to enroll with a token: the same line `shoal token create` prints. */
export function enrollCommand(hubUrl: string, secret: string): string {
  return `shoal agent run --data-dir /var/lib/shoal --hub ${hubUrl} --token ${secret}`
}

/**
 * Puts text on the clipboard. The Clipboard API exists only in a secure context (HTTPS or
 * loopback), and a hub on a site network is often plain HTTP, so without it the text is
 * selected in a hidden textarea and copied the old way. False when neither worked.
 */
export async function copyText(text: string): Promise<boolean> {
  if (window.isSecureContext && navigator.clipboard) {
    try {
      await navigator.clipboard.writeText(text)
      return true
    } catch {
      // refused (no permission, page not focused): try the old way
    }
  }
  const area = document.createElement('textarea')
  area.value = text
  area.setAttribute('readonly', '')
  area.className = 'offscreen'
  document.body.append(area)
  area.select()
  let copied = false
  try {
    copied = document.execCommand('copy')
  } catch {
    copied = false
  } finally {
    area.remove()
  }
  return copied
}

function CopyButton(props: { text: string; what: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle')
  return (
    <>
      <button type="button" onClick={() => void copyText(props.text).then((ok) => setState(ok ? 'copied' : 'failed'))}>
        Copy {props.what}
      </button>
      <span class={`copy-state ${state === 'failed' ? 'bad-text' : 'ok-text'}`} role="status">
        {state === 'copied' ? 'Copied' : state === 'failed' ? 'The browser did not allow copying: select the text and copy it by hand.' : ''}
      </span>
    </>
  )
}

/**
 * A new token's secret, shown this once: the hub keeps only its digest, so neither the list nor
 * a reload can show it again. Copy buttons for the secret and for the command a node runs.
 */
export function TokenSecret(props: { created: TokenCreated; hubUrl: string; onDone: () => void }) {
  const { created } = props
  const command = enrollCommand(props.hubUrl, created.token)
  return (
    <section class="card token-secret" aria-label="new join token" data-token-id={created.id}>
      <header class="card-head">
        <h2>
          Join token <code>{created.id}</code> created
        </h2>
      </header>
      <p class="why">
        <strong>Copy the secret now: it will not be shown again.</strong> The hub keeps only a digest of it. If it is lost, revoke this token and create
        another.
      </p>
      <label for="token-secret-value">Secret</label>
      <div class="copy-row">
        <input id="token-secret-value" class="mono" readOnly value={created.token} onFocus={(e) => e.currentTarget.select()} />
        <CopyButton text={created.token} what="secret" />
      </div>
      <p id="token-command-label">Run this on a node to enroll it:</p>
      <div class="copy-row">
        <pre class="command" aria-labelledby="token-command-label" data-testid="enroll-command">
          {command}
        </pre>
        <CopyButton text={command} what="command" />
      </div>
      <p class="muted small">
        {created.expiresAt ? `Expires ${localTime(created.expiresAt)}` : 'Never expires'}
        {' · '}
        {created.maxUses === null ? 'unlimited uses' : `at most ${created.maxUses} use${created.maxUses === 1 ? '' : 's'}`}
        {' · '}
        {Object.keys(created.labels).length > 0 ? `labels ${labelText(created.labels)}` : 'no labels'}
      </p>
      <button type="button" class="primary" onClick={props.onDone}>
        Done: I have copied it
      </button>
    </section>
  )
}
