import { useEffect, useMemo, useState } from 'preact/hooks'
import { ApiClient } from './api/client'
import { openChangeStream, type StreamState } from './api/change-stream'
import { ChangeBus, LiveContext, type Live } from './live'
import { AlertCount, AlertsPage } from './pages/alerts'
import { ApplyPage } from './pages/apply'
import { ConfigObjectPage } from './pages/config-object'
import { ConfigObjectsPage } from './pages/config-objects'
import { DeploymentPage } from './pages/deployment'
import { DeploymentsPage } from './pages/deployments'
import { CronJobPage } from './pages/cron-job'
import { JobPage } from './pages/job'
import { JobsPage } from './pages/jobs'
import { NodePage } from './pages/node'
import { NodesPage } from './pages/nodes'
import { OverviewPage } from './pages/overview'
import { SessionsPage } from './pages/sessions'
import { SignInPage } from './pages/sign-in'
import { TokensPage } from './pages/tokens'
import { Link, matchRoute, useLocation, type Route } from './router'
import { clearToken, loadToken, saveToken } from './session'

export function App() {
  const [token, setToken] = useState<string | null>(loadToken)
  const [reason, setReason] = useState<string | null>(null)
  const signOut = (why: string | null): void => {
    clearToken()
    setReason(why)
    setToken(null)
  }
  if (!token) {
    return (
      <SignInPage
        reason={reason}
        onSignIn={(value) => {
          saveToken(value)
          setReason(null)
          setToken(value)
        }}
      />
    )
  }
  return <SignedIn key={token} token={token} onSignOut={signOut} />
}

function SignedIn(props: { token: string; onSignOut: (why: string | null) => void }) {
  const [stream, setStream] = useState<StreamState>('connecting')
  const bus = useMemo(() => new ChangeBus(), [])
  const client = useMemo(() => new ApiClient(props.token, () => props.onSignOut('the hub no longer accepts the token; sign in again')), [props.token])
  const subscribe = useMemo(() => bus.subscribe.bind(bus), [bus])
  useEffect(() => openChangeStream({ client, onChange: (change) => bus.publish(change), onState: setStream }), [client, bus])
  const live = useMemo((): Live => ({ client, stream, subscribe }), [client, stream, subscribe])
  const location = useLocation()
  const route = matchRoute(location.path)
  // On a narrow screen the navigation folds behind a Menu button; following a link folds it again.
  const [menuOpen, setMenuOpen] = useState(false)
  useEffect(() => setMenuOpen(false), [location.path])

  return (
    <LiveContext.Provider value={live}>
      <header class={`topbar ${menuOpen ? 'menu-open' : ''}`}>
        <Link href="/" class="brand">
          <span class="logo" aria-hidden="true">
            ≋
          </span>{' '}
          Shoal
        </Link>
        <button type="button" class="menu-toggle" aria-expanded={menuOpen} aria-controls="main-nav" onClick={() => setMenuOpen((open) => !open)}>
          Menu
        </button>
        <nav aria-label="main" id="main-nav">
          <NavLink href="/" active={route.page === 'overview'}>
            Overview
          </NavLink>
          <NavLink href="/nodes" active={route.page === 'nodes' || route.page === 'node'}>
            Nodes
          </NavLink>
          <NavLink href="/deployments" active={route.page === 'deployments' || route.page === 'deployment'}>
            Deployments
          </NavLink>
          <NavLink href="/jobs" active={route.page === 'jobs' || route.page === 'job' || route.page === 'cron-job'}>
            Jobs
          </NavLink>
          <NavLink href="/configs" active={route.page === 'configs' || route.page === 'config-object'}>
            Configs &amp; Secrets
          </NavLink>
          <NavLink href="/apply" active={route.page === 'apply'}>
            Apply
          </NavLink>
          <NavLink href="/tokens" active={route.page === 'tokens'}>
            Join tokens
          </NavLink>
          <NavLink href="/alerts" active={route.page === 'alerts'}>
            Alerts
          </NavLink>
          <NavLink href="/sessions" active={route.page === 'sessions'}>
            Sessions
          </NavLink>
        </nav>
        <AlertCount />
        <span
          class={`stream-state ${stream}`}
          data-stream={stream}
          title={stream === 'live' ? 'receiving live updates from the hub' : 'not receiving updates; reconnecting'}
        >
          {stream === 'live' ? 'live' : stream === 'connecting' ? 'connecting…' : 'reconnecting…'}
        </span>
        <button type="button" class="signout" onClick={() => props.onSignOut(null)}>
          Sign out
        </button>
      </header>
      <main class="content">
        <Page route={route} />
      </main>
    </LiveContext.Provider>
  )
}

function NavLink(props: { href: string; active: boolean; children: string }) {
  return (
    <Link href={props.href} class={props.active ? 'active' : ''}>
      {props.children}
    </Link>
  )
}

function Page(props: { route: Route }) {
  const route = props.route
  switch (route.page) {
    case 'overview':
      return <OverviewPage />
    case 'nodes':
      return <NodesPage />
    case 'node':
      return <NodePage key={route.id} id={route.id} />
    case 'deployments':
      return <DeploymentsPage />
    case 'deployment':
      return <DeploymentPage key={route.name} name={route.name} />
    case 'jobs':
      return <JobsPage />
    case 'job':
      return <JobPage key={route.name} name={route.name} />
    case 'cron-job':
      return <CronJobPage key={route.name} name={route.name} />
    case 'configs':
      return <ConfigObjectsPage />
    case 'config-object':
      return <ConfigObjectPage key={`${route.kind}/${route.name}`} kind={route.kind} name={route.name} />
    case 'apply':
      return <ApplyPage />
    case 'tokens':
      return <TokensPage />
    case 'alerts':
      return <AlertsPage />
    case 'sessions':
      return <SessionsPage />
    case 'not-found':
      return (
        <div class="page">
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{route.path}</code>. <Link href="/">Back to the overview</Link>.
          </p>
        </div>
      )
    default: {
      const unreachable: never = route
      return unreachable
    }
  }
}
