import type { IncomingMessage, ServerResponse } from 'node:http'

export interface RequestContext {
  readonly req: IncomingMessage
  readonly res: ServerResponse
  readonly url: URL
  readonly params: Readonly<Record<string, string>>
  /** Who is calling (for the audit log). */
  readonly actor: string
  body(): Promise<Buffer>
}

export type Handler = (context: RequestContext) => Promise<unknown> | unknown

interface Route {
  readonly method: string
  readonly pattern: RegExp
  readonly keys: readonly string[]
  readonly handler: Handler
  readonly public: boolean
}

/** Method + path patterns with `:params`; the first match wins. */
export class Router {
  private readonly routes: Route[] = []

  add(method: string, path: string, handler: Handler, options: { public?: boolean } = {}): this {
    const keys: string[] = []
    const pattern = new RegExp(
      `^${path.replace(/:([a-zA-Z]+)/g, (_, key: string) => {
        keys.push(key)
        return '([^/]+)'
      })}$`,
    )
    this.routes.push({ method, pattern, keys, handler, public: options.public ?? false })
    return this
  }

  /** `malformed` names a path parameter whose percent-escapes do not decode (a client error, not ours). */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | { route: Route; malformed: string } | { allowed: string[] } | null {
    const allowed: string[] = []
    for (const route of this.routes) {
      const found = route.pattern.exec(path)
      if (!found) continue
      if (route.method !== method) {
        allowed.push(route.method)
        continue
      }
      const params: Record<string, string> = {}
      for (const [i, key] of route.keys.entries()) {
        const decoded = decodePathSegment(found[i + 1] ?? '')
        if (decoded === null) return { route, malformed: key }
        params[key] = decoded
      }
      return { route, params }
    }
    return allowed.length > 0 ? { allowed } : null
  }
}

function decodePathSegment(text: string): string | null {
  try {
    return decodeURIComponent(text)
  } catch {
    return null
  }
}
