import { h, type ComponentChildren } from 'preact'
import { useEffect, useState } from 'preact/hooks'

/** The console's pages, from the URL path; one case per page, switched on exhaustively in app.tsx. */
export type Route =
  | { readonly page: 'overview' }
  | { readonly page: 'nodes' }
  | { readonly page: 'node'; readonly id: string }
  | { readonly page: 'deployments' }
  | { readonly page: 'deployment'; readonly name: string }
  | { readonly page: 'jobs' }
  | { readonly page: 'job'; readonly name: string }
  | { readonly page: 'cron-job'; readonly name: string }
  | { readonly page: 'apply' }
  | { readonly page: 'tokens' }
  | { readonly page: 'alerts' }
  | { readonly page: 'sessions' }
  | { readonly page: 'configs' }
  | { readonly page: 'config-object'; readonly kind: 'Config' | 'Secret'; readonly name: string }
  | { readonly page: 'not-found'; readonly path: string }

export function matchRoute(path: string): Route {
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent)
  const [first, second, ...rest] = parts
  if (rest.length > 0) return { page: 'not-found', path }
  if (first === undefined) return { page: 'overview' }
  if (first === 'nodes') return second === undefined ? { page: 'nodes' } : { page: 'node', id: second }
  if (first === 'deployments') return second === undefined ? { page: 'deployments' } : { page: 'deployment', name: second }
  if (first === 'jobs') return second === undefined ? { page: 'jobs' } : { page: 'job', name: second }
  // The list of cron jobs is a table on /jobs; /cronjobs alone goes there too.
  if (first === 'cronjobs') return second === undefined ? { page: 'jobs' } : { page: 'cron-job', name: second }
  if (first === 'apply' && second === undefined) return { page: 'apply' }
  if (first === 'tokens' && second === undefined) return { page: 'tokens' }
  if (first === 'alerts' && second === undefined) return { page: 'alerts' }
  if (first === 'sessions' && second === undefined) return { page: 'sessions' }
  if (first === 'configs' || first === 'secrets')
    return second === undefined ? { page: 'configs' } : { page: 'config-object', kind: first === 'configs' ? 'Config' : 'Secret', name: second }
  return { page: 'not-found', path }
}

export const nodeHref = (id: string): string => `/nodes/${encodeURIComponent(id)}`
export const deploymentHref = (name: string): string => `/deployments/${encodeURIComponent(name)}`
export const jobHref = (name: string): string => `/jobs/${encodeURIComponent(name)}`
export const cronJobHref = (name: string): string => `/cronjobs/${encodeURIComponent(name)}`
/** The audit list of remote sessions, or one node's. */
export const sessionsHref = (node?: string): string => (node ? `/sessions?node=${encodeURIComponent(node)}` : '/sessions')
export const configObjectHref = (kind: 'Config' | 'Secret', name: string): string => `/${kind === 'Config' ? 'configs' : 'secrets'}/${encodeURIComponent(name)}`

/** Fired on window after navigate() changes the URL; the browser fires popstate for back and forward. */
const NAVIGATED = 'shoal:navigated'

/** Client-side navigation: the hub answers every page path with index.html, so links stay shareable. */
export function navigate(to: string, options: { replace?: boolean } = {}): void {
  if (to === location.pathname + location.search) return
  if (options.replace) history.replaceState(null, '', to)
  else history.pushState(null, '', to)
  window.dispatchEvent(new Event(NAVIGATED))
  if (!options.replace) window.scrollTo(0, 0)
}

export interface Location {
  readonly path: string
  readonly query: URLSearchParams
}

export function useLocation(): Location {
  const read = (): Location => ({ path: location.pathname, query: new URLSearchParams(location.search) })
  const [current, setCurrent] = useState(read)
  useEffect(() => {
    const update = (): void => setCurrent(read())
    window.addEventListener('popstate', update)
    window.addEventListener(NAVIGATED, update)
    return () => {
      window.removeEventListener('popstate', update)
      window.removeEventListener(NAVIGATED, update)
    }
  }, [])
  return current
}

/** Changes query parameters in place (filters), without a history entry per keystroke. */
export function setQuery(values: Record<string, string | null>): void {
  const query = new URLSearchParams(location.search)
  for (const [key, value] of Object.entries(values)) {
    if (value === null || value === '') query.delete(key)
    else query.set(key, value)
  }
  const search = query.toString()
  navigate(`${location.pathname}${search ? `?${search}` : ''}`, { replace: true })
}

export function Link(props: { href: string; class?: string; title?: string; children: ComponentChildren }) {
  const onClick = (event: MouseEvent): void => {
    if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return
    event.preventDefault()
    navigate(props.href)
  }
  return h('a', { href: props.href, class: props.class, title: props.title, onClick }, props.children)
}
