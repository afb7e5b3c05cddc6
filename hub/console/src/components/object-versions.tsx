import { Link, configObjectHref } from '../router'

interface Versioned {
  readonly configVersions?: Readonly<Record<string, number>> | undefined
  readonly secretVersions?: Readonly<Record<string, number>> | undefined
}

/** Whether a copy reported any Config or Secret versions (so the column is worth showing). */
export function hasObjectVersions(status: Versioned | null | undefined): boolean {
  return Object.keys(status?.configVersions ?? {}).length + Object.keys(status?.secretVersions ?? {}).length > 0
}

/** "line-settings v3 · api-key v2": the version of each Config and Secret the copy's container was given. */
export function ObjectVersions(props: { status: Versioned | null | undefined }) {
  const entries = [
    ...Object.entries(props.status?.configVersions ?? {}).map(([name, version]) => ({ kind: 'Config' as const, name, version })),
    ...Object.entries(props.status?.secretVersions ?? {}).map(([name, version]) => ({ kind: 'Secret' as const, name, version })),
  ].sort((a, b) => (a.kind + a.name < b.kind + b.name ? -1 : 1))
  if (entries.length === 0) return <span class="muted">–</span>
  return (
    <ul class="object-versions" aria-label="config and secret versions">
      {entries.map((e) => (
        <li key={`${e.kind}/${e.name}`} data-object={`${e.kind}/${e.name}`} data-version={e.version}>
          <Link href={configObjectHref(e.kind, e.name)} title={`${e.kind} ${e.name}, version ${e.version}`}>
            {e.name}
          </Link>{' '}
          <span class="muted">v{e.version}</span>
        </li>
      ))}
    </ul>
  )
}
