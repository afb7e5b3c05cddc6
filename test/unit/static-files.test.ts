import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { pino } from 'pino'
import t from 'tap'
import { resolveStaticPath, serveStaticFiles } from '../../hub/api/static-files.js'

const ROOT = '/srv/console'

t.test('resolveStaticPath: files inside the root, pages for paths without an extension', async (t) => {
  t.same(resolveStaticPath(ROOT, '/'), { kind: 'app' })
  t.same(resolveStaticPath(ROOT, '/nodes'), { kind: 'app' })
  t.same(resolveStaticPath(ROOT, '/nodes/pi-7'), { kind: 'app' })
  t.same(resolveStaticPath(ROOT, '/favicon.svg'), { kind: 'file', file: '/srv/console/favicon.svg' })
  t.same(resolveStaticPath(ROOT, '/assets/index-DKnPAB5Q.js'), { kind: 'file', file: '/srv/console/assets/index-DKnPAB5Q.js' })
  t.same(resolveStaticPath(ROOT, '/assets//index.css'), { kind: 'file', file: '/srv/console/assets/index.css' }, 'empty segments collapse')
})

t.test('resolveStaticPath refuses every way out of the root', async (t) => {
  for (const attempt of [
    '/../etc/passwd',
    '/assets/../../etc/passwd',
    '/%2e%2e/etc/passwd',
    '/assets/%2e%2e%2f%2e%2e%2fhub.db',
    '/..%2f..%2fetc%2fpasswd',
    '/assets/..\\..\\hub.db',
    '/assets/%5c..%5chub.db',
    '/index.html%00.js',
    '/.env',
    '/assets/.git/config',
    '/%E0%A4%A', // malformed escape
    'relative/path.js',
  ]) {
    t.same(resolveStaticPath(ROOT, attempt), { kind: 'refused' }, attempt)
  }
})

t.test('serveStaticFiles over HTTP', async (t) => {
  const dir = t.testdir({
    console: {
      'index.html': '<!doctype html><title>Shoal</title>',
      'favicon.svg': '<svg/>',
      assets: { 'index-DKnPAB5Q.js': 'console.log(1)', 'index-CejGhaij.css': 'body{}' },
    },
    'secret.txt': 'outside',
  })
  const root = path.join(dir, 'console')
  symlinkSync(path.join(dir, 'secret.txt'), path.join(root, 'assets', 'leak.txt'))
  const fallback = serveStaticFiles({ root, logger: pino({ level: 'silent' }) })
  const server: Server = createServer((req, res) => {
    if (!fallback(req, res)) {
      res.writeHead(404, { 'content-type': 'application/json' })
      res.end('{"error":{"code":"not-found"}}')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const get = (p: string, init?: RequestInit) => fetch(`${base}${p}`, init)

  t.test('index.html for the app and its client-side routes, revalidated', async (t) => {
    for (const p of ['/', '/nodes', '/deployments/web']) {
      const response = await get(p)
      t.equal(response.status, 200, p)
      t.equal(response.headers.get('content-type'), 'text/html; charset=utf-8', p)
      t.equal(response.headers.get('cache-control'), 'no-cache', p)
      t.match(response.headers.get('content-security-policy'), /default-src 'self'/, p)
      t.equal(response.headers.get('x-content-type-options'), 'nosniff', p)
      t.match(await response.text(), /<title>Shoal<\/title>/, p)
    }
  })

  t.test('hashed assets are cached for good, with their content type', async (t) => {
    const js = await get('/assets/index-DKnPAB5Q.js')
    t.equal(js.status, 200)
    t.equal(js.headers.get('content-type'), 'text/javascript; charset=utf-8')
    t.equal(js.headers.get('cache-control'), 'public, max-age=31536000, immutable')
    t.equal(await js.text(), 'console.log(1)')
    const css = await get('/assets/index-CejGhaij.css')
    t.equal(css.headers.get('content-type'), 'text/css; charset=utf-8')
    const svg = await get('/favicon.svg')
    t.equal(svg.headers.get('content-type'), 'image/svg+xml')
    t.equal(svg.headers.get('cache-control'), 'no-cache', 'unhashed files are revalidated')
  })

  t.test('ETag answers 304; HEAD has headers and no body', async (t) => {
    const first = await get('/assets/index-DKnPAB5Q.js')
    const etag = first.headers.get('etag') ?? ''
    t.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/)
    const again = await get('/assets/index-DKnPAB5Q.js', { headers: { 'if-none-match': etag } })
    t.equal(again.status, 304)
    const head = await get('/favicon.svg', { method: 'HEAD' })
    t.equal(head.status, 200)
    t.equal(head.headers.get('content-length'), '6')
    t.equal(await head.text(), '')
  })

  t.test('a missing file is 404, not the app page; a symlink out of the root is 404', async (t) => {
    const missing = await get('/assets/nope-12345678.js')
    t.equal(missing.status, 404)
    t.equal(missing.headers.get('content-type'), 'text/plain; charset=utf-8')
    const leak = await get('/assets/leak.txt')
    t.equal(leak.status, 404)
    t.notMatch(await leak.text(), /outside/)
  })

  t.test('the API prefix and other methods are left to the API', async (t) => {
    const api = await get('/api/v1/nope')
    t.equal(api.status, 404)
    t.equal(api.headers.get('content-type'), 'application/json', 'the fallback declined')
    const post = await get('/', { method: 'POST', body: 'x' })
    t.equal(post.headers.get('content-type'), 'application/json', 'POST is not served')
  })
})

t.test('without a built console it says how to build one, and leaves the API alone', async (t) => {
  const dir = t.testdir({})
  mkdirSync(path.join(dir, 'empty'))
  writeFileSync(path.join(dir, 'empty', 'readme.txt'), 'no index')
  const fallback = serveStaticFiles({ root: path.join(dir, 'empty'), logger: pino({ level: 'silent' }) })
  const server = createServer((req, res) => {
    if (!fallback(req, res)) {
      res.writeHead(418)
      res.end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  const page = await fetch(`${base}/nodes`)
  t.equal(page.status, 404)
  t.match(await page.text(), /npm run build:console/)
  t.equal((await fetch(`${base}/api/v1/nodes`)).status, 418)
})
