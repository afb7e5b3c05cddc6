import { useEffect, useImperativeHandle, useMemo, useRef } from 'preact/hooks'
import type { Ref } from 'preact'
import type { ManifestIssue } from '../api/types'

export interface ManifestEditorHandle {
  /** Scrolls to a line, puts the cursor at its column and focuses the editor. */
  goTo(line: number, column?: number): void
}

export interface ManifestEditorProps {
  readonly value: string
  readonly onInput: (value: string) => void
  readonly issues: readonly ManifestIssue[]
  readonly handle: Ref<ManifestEditorHandle>
}

/**
 * A plain textarea with a line-number gutter and a backdrop that marks the lines the hub
 * refused. The textarea does not wrap, so gutter, backdrop and text stay line for line; all
 * three scroll together.
 */
export function ManifestEditor(props: ManifestEditorProps) {
  const textarea = useRef<HTMLTextAreaElement>(null)
  const gutter = useRef<HTMLDivElement>(null)
  const backdrop = useRef<HTMLDivElement>(null)
  const lines = useMemo(() => props.value.split(/\r\n|\r|\n/), [props.value])
  const byLine = useMemo(() => {
    const map = new Map<number, ManifestIssue[]>()
    for (const issue of props.issues) {
      if (issue.line === undefined) continue
      map.set(issue.line, [...(map.get(issue.line) ?? []), issue])
    }
    return map
  }, [props.issues])

  const syncScroll = (): void => {
    const t = textarea.current
    if (!t) return
    if (gutter.current) gutter.current.scrollTop = t.scrollTop
    if (backdrop.current) {
      backdrop.current.scrollTop = t.scrollTop
      backdrop.current.scrollLeft = t.scrollLeft
    }
  }
  useEffect(syncScroll, [props.value, props.issues])

  useImperativeHandle(props.handle, () => ({
    goTo(line: number, column = 1) {
      const t = textarea.current
      if (!t) return
      let offset = 0
      for (let i = 0; i < line - 1 && i < lines.length; i++) offset += (lines[i]?.length ?? 0) + 1
      offset += Math.max(0, column - 1)
      t.focus()
      t.setSelectionRange(offset, offset)
      const lineHeight = parseFloat(getComputedStyle(t).lineHeight) || 20
      t.scrollTop = Math.max(0, (line - 3) * lineHeight)
      syncScroll()
    },
  }))

  return (
    <div class="editor">
      <div class="editor-gutter" ref={gutter} aria-hidden="true">
        {lines.map((_, i) => {
          const issues = byLine.get(i + 1)
          return (
            <div key={i} class={issues ? 'gutter-line has-error' : 'gutter-line'} data-line={i + 1} title={issues?.map((x) => x.message).join('\n')}>
              {issues ? <span class="gutter-mark">●</span> : null}
              {i + 1}
            </div>
          )
        })}
      </div>
      <div class="editor-main">
        <div class="editor-backdrop" ref={backdrop} aria-hidden="true">
          {lines.map((line, i) => {
            const issues = byLine.get(i + 1)
            return (
              <div key={i} class={issues ? 'backdrop-line has-error' : 'backdrop-line'} data-line={i + 1}>
                {line === '' ? ' ' : line}
                {issues ? <span class="inline-issue">{issues.map((x) => `${x.path ? `${x.path}: ` : ''}${x.message}`).join('; ')}</span> : null}
              </div>
            )
          })}
        </div>
        <textarea
          ref={textarea}
          class="editor-text"
          aria-label="manifest"
          spellcheck={false}
          autocomplete="off"
          wrap="off"
          value={props.value}
          onInput={(event) => props.onInput((event.currentTarget as HTMLTextAreaElement).value)}
          onScroll={syncScroll}
          onKeyDown={(event) => {
            // Tab indents by two spaces instead of leaving the editor (Shift+Tab still leaves).
            if (event.key !== 'Tab' || event.shiftKey) return
            event.preventDefault()
            const t = event.currentTarget as HTMLTextAreaElement
            const { selectionStart, selectionEnd, value } = t
            const next = `${value.slice(0, selectionStart)}  ${value.slice(selectionEnd)}`
            props.onInput(next)
            requestAnimationFrame(() => t.setSelectionRange(selectionStart + 2, selectionStart + 2))
          }}
        />
      </div>
    </div>
  )
}
