import { useEffect, useState } from 'preact/hooks'

/** Phones, and tablets held upright: the layout that keeps the key columns and folds the menu. */
export const NARROW_SCREEN = '(max-width: 900px)'

/** Whether a CSS media query matches now; follows it as the window turns or resizes. */
export function useMediaQuery(query: string): boolean {
  const [matches, setMatches] = useState(() => window.matchMedia(query).matches)
  useEffect(() => {
    const list = window.matchMedia(query)
    const update = (): void => setMatches(list.matches)
    update()
    list.addEventListener('change', update)
    return () => list.removeEventListener('change', update)
  }, [query])
  return matches
}
