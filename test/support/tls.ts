import { execFileSync } from 'node:child_process'
import { join } from 'node:path'

/** A self-signed EC certificate for 127.0.0.1 (openssl), valid for `days` from now. */
export function selfSignedCertificate(dir: string, days = 1): { readonly cert: string; readonly key: string } {
  const cert = join(dir, 'broker.crt')
  const key = join(dir, 'broker.key')
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      String(days),
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
    ],
    { stdio: 'ignore' },
  )
  return { cert, key }
}
