import type { ComponentChildren } from 'preact'
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks'
import { NARROW_SCREEN, useMediaQuery } from '../media'

export interface Column<T> {
  readonly key: string
  readonly title: string
  /** A CSS grid track: "minmax(10rem, 2fr)", "7rem". */
  readonly width: string
  readonly render: (row: T) => ComponentChildren
  /** Makes the column sortable by this value. */
  readonly sortValue?: (row: T) => string | number
  /** Its track on a narrow screen; columns without one are left out there (the row's page has them). */
  readonly narrowWidth?: string
  /** A shorter heading for a narrow screen. */
  readonly narrowTitle?: string
}

export interface VirtualTableProps<T> {
  readonly label: string
  readonly rows: readonly T[]
  readonly columns: readonly Column<T>[]
  readonly rowKey: (row: T) => string
  readonly rowClass?: (row: T) => string
  readonly rowData?: (row: T) => Record<string, string>
  readonly initialSort?: { readonly key: string; readonly descending?: boolean }
  readonly empty?: ComponentChildren
}

const ROW_HEIGHT = 40
const OVERSCAN = 8

/**
 * A table that renders only the rows in view (plus a few around them), so 1,000 or 10,000
 * nodes scroll smoothly: the DOM holds a few dozen rows whatever the fleet's size. Rows have
 * one fixed height; cells clip what does not fit (the node page has the rest).
 */
export function VirtualTable<T>(props: VirtualTableProps<T>) {
  const narrow = useMediaQuery(NARROW_SCREEN)
  const columns = narrow
    ? props.columns.flatMap((c) => (c.narrowWidth ? [{ ...c, width: c.narrowWidth, title: c.narrowTitle ?? c.title }] : []))
    : props.columns
  const viewport = useRef<HTMLDivElement>(null)
  const [scrollTop, setScrollTop] = useState(0)
  const [height, setHeight] = useState(600)
  const [sort, setSort] = useState(props.initialSort ?? null)

  useLayoutEffect(() => {
    const element = viewport.current
    if (!element) return
    const measure = (): void => setHeight(element.clientHeight)
    measure()
    const observer = new ResizeObserver(measure)
    observer.observe(element)
    return () => observer.disconnect()
  }, [])

  // A filter that shrinks the list below the scroll position would show nothing: go back up.
  useEffect(() => {
    const element = viewport.current
    if (element && element.scrollTop > props.rows.length * ROW_HEIGHT) element.scrollTop = 0
  }, [props.rows.length])

  const sorted = useMemo(() => {
    const column = sort ? props.columns.find((c) => c.key === sort.key) : undefined
    if (!sort || !column?.sortValue) return props.rows
    const value = column.sortValue
    const direction = sort.descending ? -1 : 1
    return [...props.rows].sort((a, b) => {
      const x = value(a)
      const y = value(b)
      return (typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), undefined, { numeric: true })) * direction
    })
  }, [props.rows, props.columns, sort])

  const template = columns.map((c) => c.width).join(' ')
  const first = Math.max(0, Math.floor(scrollTop / ROW_HEIGHT) - OVERSCAN)
  const last = Math.min(sorted.length, Math.ceil((scrollTop + height) / ROW_HEIGHT) + OVERSCAN)
  const visible = sorted.slice(first, last)

  const toggleSort = (key: string): void => {
    setSort((current) => (current?.key === key ? { key, descending: !current.descending } : { key, descending: false }))
  }

  return (
    <div class={`vtable ${narrow ? 'narrow' : 'wide'}`} role="table" aria-label={props.label} aria-rowcount={sorted.length + 1}>
      <div class="vtable-head" role="row" style={{ gridTemplateColumns: template }}>
        {columns.map((column) => {
          const active = sort?.key === column.key
          const ariaSort = active ? (sort?.descending ? 'descending' : 'ascending') : 'none'
          return (
            <div role="columnheader" class="vtable-cell" key={column.key} aria-sort={column.sortValue ? ariaSort : undefined}>
              {column.sortValue ? (
                <button type="button" class="sort" onClick={() => toggleSort(column.key)}>
                  {column.title}
                  <span class="sort-mark">{active ? (sort?.descending ? ' ▼' : ' ▲') : ''}</span>
                </button>
              ) : (
                column.title
              )}
            </div>
          )
        })}
      </div>
      <div class="vtable-viewport" ref={viewport} onScroll={(event) => setScrollTop((event.currentTarget as HTMLDivElement).scrollTop)}>
        {sorted.length === 0 ? (
          <div class="vtable-empty">{props.empty ?? 'Nothing to show.'}</div>
        ) : (
          <div class="vtable-body" role="rowgroup" style={{ height: `${sorted.length * ROW_HEIGHT}px` }}>
            {visible.map((row, i) => (
              <div
                role="row"
                key={props.rowKey(row)}
                aria-rowindex={first + i + 2}
                class={`vtable-row ${props.rowClass?.(row) ?? ''}`}
                style={{ gridTemplateColumns: template, transform: `translateY(${(first + i) * ROW_HEIGHT}px)`, height: `${ROW_HEIGHT}px` }}
                {...(props.rowData?.(row) ?? {})}
              >
                {columns.map((column) => (
                  <div role="cell" class="vtable-cell" key={column.key} data-column={column.key}>
                    {column.render(row)}
                  </div>
                ))}
              </div>
            ))}
          </div>
        )}
      </div>
    </div>
  )
}
