import type { IncomingMessage, ServerResponse } from 'node:http'
import type { ApiRoute, ReplyOf } from '../../protocol/api/index.js'
import type { Created } from './http-errors.js'

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

/**
 * What a handler of an API route answers: a value of the route's reply type (for a 201, a
 * Created around one; `satisfies` checks its body where it is made), or nothing when it writes
 * the answer itself (a stream).
 */
export type RouteHandler<R extends ApiRoute> = (context: RequestContext) => Reply<R> | Promise<Reply<R>>
type Reply<R extends ApiRoute> = R['reply']['status'] extends 201 ? Created : ReplyOf<R>

interface Route {
  readonly method: string
  readonly path: string
  readonly pattern: RegExp
  readonly keys: readonly string[]
  readonly handler: Handler
  readonly public: boolean
}

/** Method + path patterns with `:params`; the first match wins. */
export class Router {
  private readonly routes: Route[] = []

  /** Registers one route of the API contract (protocol/api/routes.ts); the handler must answer its reply type. */
  route<R extends ApiRoute>(route: R, handler: RouteHandler<NoInfer<R>>): this {
    return this.add(route.method, route.path, handler, { public: route.public ?? false })
  }

  add(method: string, path: string, handler: Handler, options: { public?: boolean } = {}): this {
    const keys: string[] = []
    const pattern = new RegExp(
      `^${path.replace(/:([a-zA-Z]+)/g, (_, key: string) => {
        keys.push(key)
        return '([^/]+)'
      })}$`,
    )
    this.routes.push({ method, path, pattern, keys, handler, public: options.public ?? false })
    return this
  }

  /** Every registered route, in order: method, path as registered, and whether it is public. */
  list(): { method: string; path: string; public: boolean }[] {
    return this.routes.map(({ method, path, public: isPublic }) => ({ method, path, public: isPublic }))
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
