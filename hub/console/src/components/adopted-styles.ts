/**
 * xterm.js writes its cell sizes and theme colours into <style> elements, whose text the hub's
 * Content-Security-Policy (`style-src 'self'`, no inline styles) keeps from applying. This copies
 * the text of every <style> under `root` into a constructed stylesheet adopted by the document,
 * which the policy does not govern, and follows their changes (a resize rewrites the sizes).
 */
export function adoptInlineStyles(root: HTMLElement): { dispose(): void } {
  const sheets = new Map<HTMLStyleElement, CSSStyleSheet>()
  /** The sheets this put on the document last, to replace or take away. */
  let adopted = new Set<CSSStyleSheet>()
  const place = (next: Set<CSSStyleSheet>): void => {
    const previous = adopted
    adopted = next
    document.adoptedStyleSheets = [...document.adoptedStyleSheets.filter((sheet) => !previous.has(sheet)), ...next]
  }
  const sync = (): void => {
    const present = new Set(root.querySelectorAll('style'))
    for (const element of sheets.keys()) if (!present.has(element)) sheets.delete(element)
    for (const element of present) {
      const sheet = sheets.get(element) ?? new CSSStyleSheet()
      sheets.set(element, sheet)
      sheet.replaceSync(element.textContent ?? '')
    }
    place(new Set(sheets.values()))
  }
  const observer = new MutationObserver(sync)
  observer.observe(root, { subtree: true, childList: true, characterData: true })
  sync()
  return {
    dispose() {
      observer.disconnect()
      sheets.clear()
      place(new Set())
    },
  }
}
