import { connect } from 'node:tls'

/** TLS verification failures that a wrong clock on this node causes. */
const CLOCK_CERT_ERRORS = new Set(['CERT_NOT_YET_VALID', 'CERT_HAS_EXPIRED'])

export interface CertificateWindow {
  readonly validFrom: Date
  readonly validTo: Date
}

export function isClockCertError(error: unknown): error is Error & { code: string } {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && CLOCK_CERT_ERRORS.has(code)
}

/**
 * What to tell the operator when the broker's certificate is refused for its dates: the node's
 * own time, the certificate's window when it could be read, and how to fix the clock. Pure.
 */
export function describeClockCertError(code: string, nodeTime: Date, window: CertificateWindow | null): string {
  const state = code === 'CERT_NOT_YET_VALID' ? 'not yet valid' : 'expired'
  const validity = window ? `; the certificate is valid from ${window.validFrom.toISOString()} to ${window.validTo.toISOString()}` : ''
  const likely =
    window === null
      ? "check this node's clock"
      : code === 'CERT_NOT_YET_VALID' && nodeTime < window.validFrom
        ? "this node's clock is behind"
        : code === 'CERT_HAS_EXPIRED' && nodeTime > window.validTo
          ? "this node's clock is ahead, or the certificate really expired"
          : "check this node's clock"
  return `the broker's TLS certificate is ${state} by this node's clock (it reads ${nodeTime.toISOString()}${validity}): ${likely}. Set the time (NTP, fake-hwclock, or a real-time clock with a live battery); workloads keep running from the local store and the agent keeps retrying`
}

/**
 * Reads the broker certificate's validity window without trusting it: only to say what is
 * wrong, never to connect with. Null when it cannot be read within the bound.
 */
export function peerCertificateWindow(host: string, port: number, timeoutMs = 3_000): Promise<CertificateWindow | null> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, servername: /^[\d.]+$|:/.test(host) ? undefined : host, rejectUnauthorized: false, timeout: timeoutMs })
    const done = (window: CertificateWindow | null): void => {
      socket.destroy()
      resolve(window)
    }
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate()
      done(cert?.valid_from ? { validFrom: new Date(cert.valid_from), validTo: new Date(cert.valid_to) } : null)
    })
    socket.once('timeout', () => done(null))
    socket.once('error', () => done(null))
  })
}
