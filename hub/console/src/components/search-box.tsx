import { useEffect, useState } from 'preact/hooks'
import { setQuery, useLocation } from '../router'
import { classifySearch, searchHint } from '../search'

/** What a list page filters by, from its URL: `?selector=` (the hub filters) and `?q=` (free text, matched in the page). */
export function useSearchQuery(): { readonly selector: string; readonly text: string } {
  const { query } = useLocation()
  return { selector: query.get('selector') ?? '', text: query.get('q') ?? '' }
}

/**
 * One box for names, label values and label selectors. It says what it did with the text, and
 * puts it in the URL a moment after typing stops, so a search can be shared and survives a reload.
 */
export function SearchBox(props: { readonly noun: string; readonly invalid: boolean; readonly placeholder: string }) {
  const { selector, text } = useSearchQuery()
  const inUrl = selector || text
  const [typed, setTyped] = useState(inUrl)
  const search = (value: string): void => {
    const intent = classifySearch(value)
    setQuery({ selector: intent.kind === 'selector' ? intent.selector : null, q: intent.kind === 'text' ? intent.text : null })
  }
  useEffect(() => {
    if (typed.trim() === inUrl) return
    const timer = setTimeout(() => search(typed), 350)
    return () => clearTimeout(timer)
  }, [typed, inUrl])
  useEffect(() => setTyped(inUrl), [inUrl])
  const intent = classifySearch(inUrl)
  const hintId = `${props.noun}-search-hint`
  return (
    <label class="grow">
      Search
      <input
        type="search"
        name="q"
        aria-label={`search ${props.noun}s`}
        aria-describedby={hintId}
        placeholder={props.placeholder}
        value={typed}
        onInput={(e) => setTyped((e.currentTarget as HTMLInputElement).value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') {
            e.preventDefault()
            search(typed)
          }
        }}
        class={props.invalid ? 'invalid' : ''}
      />
      <span id={hintId} class="search-hint" data-testid="search-mode" data-kind={intent.kind}>
        {searchHint(intent, props.noun)}
      </span>
    </label>
  )
}
