import { createReadStream, realpathSync, statSync, type Stats } from 'node:fs'
import type { IncomingMessage, ServerResponse } from 'node:http'
import path from 'node:path'
import type { Logger } from 'pino'

/** Content types of what a built console holds; anything else goes out as bytes. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
}

/**
 * The console's pages take the API's data from this origin only, and nothing else: no inline
 * script, no outside host (it also runs air-gapped), no framing.
 */
const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
}

export interface StaticFilesOptions {
  /** The built console (dist/console). */
  readonly root: string
  readonly logger: Logger
  /** Paths under these prefixes are never files (the API answers them, or says 404). */
  readonly reservedPrefixes?: readonly string[]
}

export type StaticTarget = { readonly kind: 'file'; readonly file: string } | { readonly kind: 'app' } | { readonly kind: 'refused' }

/**
 * Where a request path leads inside `root`. Pure, and the whole of the traversal defence:
 * the path is decoded once, must be absolute, holds no NUL, backslash or dot segment
 * ("..", ".", or a hidden name such as ".env"), and the joined result must stay inside root.
 * A path with no file extension is a page of the single-page app (index.html answers it).
 */
export function resolveStaticPath(root: string, pathname: string): StaticTarget {
  let decoded: string
  try {
    decoded = decodeURIComponent(pathname)
  } catch {
    return { kind: 'refused' }
  }
  if (!decoded.startsWith('/') || decoded.includes('\0') || decoded.includes('\\')) return { kind: 'refused' }
  const segments = decoded.split('/').filter((s) => s !== '')
  if (segments.some((s) => s.startsWith('.'))) return { kind: 'refused' }
  if (segments.length === 0) return { kind: 'app' }
  const file = path.resolve(root, ...segments)
  const relative = path.relative(root, file)
  if (relative === '' || relative.startsWith('..') || path.isAbsolute(relative)) return { kind: 'refused' }
  const last = segments[segments.length - 1] ?? ''
  return path.extname(last) === '' ? { kind: 'app' } : { kind: 'file', file }
}

/**
 * Serves the built web console for `createApiServer`'s fallback: GET and HEAD of files under
 * root, index.html for client-side routes, hashed assets cached for a year and everything else
 * revalidated (ETag), never a directory listing. Returns false (the API then answers 404) for
 * other methods and for the API's own prefixes.
 */
export function serveStaticFiles(options: StaticFilesOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const logger = options.logger.child({ component: 'console' })
  const reserved = options.reservedPrefixes ?? ['/api/']
  const root = path.resolve(options.root)
  let realRoot: string | null = null
  let warned = false

  const locateRoot = (): string | null => {
    if (realRoot) return realRoot
    try {
      realRoot = realpathSync(root)
      if (!statSync(path.join(realRoot, 'index.html')).isFile()) realRoot = null
    } catch {
      realRoot = null
    }
    if (!realRoot && !warned) {
      warned = true
      logger.warn({ dir: root }, 'the web console is not built here; run `npm run build:console`')
    }
    return realRoot
  }

  return (req, res) => {
    const method = req.method ?? 'GET'
    if (method !== 'GET' && method !== 'HEAD') return false
    const pathname = new URL(req.url ?? '/', 'http://hub.invalid').pathname
    if (reserved.some((prefix) => pathname === prefix.replace(/\/$/, '') || pathname.startsWith(prefix))) return false
    const base = locateRoot()
    if (!base) {
      sendText(res, method, 404, 'The web console is not built into this hub. Build it with `npm run build:console`, or use the shoal CLI.\n')
      return true
    }
    const target = resolveStaticPath(base, pathname)
    switch (target.kind) {
      case 'refused':
        sendText(res, method, 404, 'not found\n')
        return true
      case 'app':
        return sendFile(req, res, path.join(base, 'index.html'), base, 'no-cache')
      case 'file':
        if (!sendFile(req, res, target.file, base, isHashedAsset(pathname) ? 'public, max-age=31536000, immutable' : 'no-cache'))
          sendText(res, method, 404, 'not found\n')
        return true
    }
  }
}

/** Vite names built assets by content hash (assets/index-DKnPAB5Q.js): they never change. */
function isHashedAsset(pathname: string): boolean {
  return /^\/assets\/[^/]+-[A-Za-z0-9_-]{8,}\.[a-z0-9]+$/.test(pathname)
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: string, realRoot: string, cacheControl: string): boolean {
  let stats: Stats
  let real: string
  try {
    real = realpathSync(file)
    stats = statSync(real)
  } catch {
    return false
  }
  // A symlink inside the console must not lead out of it.
  const relative = path.relative(realRoot, real)
  if (!stats.isFile() || relative.startsWith('..') || path.isAbsolute(relative)) return false
  const etag = `"${stats.size.toString(16)}-${Math.floor(stats.mtimeMs).toString(16)}"`
  const headers: Record<string, string | number> = {
    ...SECURITY_HEADERS,
    'content-type': CONTENT_TYPES[path.extname(real).toLowerCase()] ?? 'application/octet-stream',
    'cache-control': cacheControl,
    etag,
    'last-modified': stats.mtime.toUTCString(),
  }
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers)
    res.end()
    return true
  }
  headers['content-length'] = stats.size
  res.writeHead(200, headers)
  if (req.method === 'HEAD') {
    res.end()
    return true
  }
  const stream = createReadStream(real)
  stream.on('error', () => res.destroy())
  stream.pipe(res)
  return true
}

function sendText(res: ServerResponse, method: string, status: number, text: string): void {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-cache',
  })
  res.end(method === 'HEAD' ? undefined : text)
}
