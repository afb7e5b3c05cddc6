// xterm.js and its fit addon, loaded only when a terminal opens (a chunk of its own, so the
// console's first load stays small). The terminal's screen and keyboard; no session logic here.
import { FitAddon } from '@xterm/addon-fit'
import { Terminal } from '@xterm/xterm'
import '@xterm/xterm/css/xterm.css'
import type { TerminalSize } from '../api/types'
import { adoptInlineStyles } from './adopted-styles'

export interface XtermEvents {
  /** What the operator typed or pasted, to send as stdin. */
  input(data: string | Uint8Array): void
  /** The screen's size in cells changed (the page or the window was resized). */
  resized(size: TerminalSize): void
}

export interface XtermHandle {
  size(): TerminalSize
  write(data: string | Uint8Array): void
  focus(): void
  /** Keys stop reaching input() (the session ended); the screen stays for reading and copying. */
  disableInput(): void
  dispose(): void
}

/** The log viewer's colours, so the two read alike. */
const THEME = { background: '#10181f', foreground: '#d8e1e8', cursor: '#d8e1e8', selectionBackground: '#2f4a5e' }

export function mountXterm(parent: HTMLElement, events: XtermEvents): XtermHandle {
  const styles = adoptInlineStyles(parent)
  const terminal = new Terminal({
    cursorBlink: true,
    fontFamily: "ui-monospace, 'DejaVu Sans Mono', 'Liberation Mono', Menlo, Consolas, monospace",
    fontSize: 13,
    scrollback: 5000,
    theme: THEME,
  })
  const fit = new FitAddon()
  terminal.loadAddon(fit)
  terminal.open(parent)
  fit.fit()
  let inputEnabled = true
  const subscriptions = [
    terminal.onData((data) => {
      if (inputEnabled) events.input(data)
    }),
    // Mouse reports in the X10 encoding: one character per byte, which UTF-8 would mangle.
    terminal.onBinary((data) => {
      if (inputEnabled) events.input(Uint8Array.from(data, (c) => c.charCodeAt(0) & 0xff))
    }),
    terminal.onResize(({ cols, rows }) => events.resized({ cols, rows })),
  ]
  // Refit when the box changes size (a rotated phone, a resized window), once per frame.
  let frame: number | null = null
  const observer = new ResizeObserver(() => {
    if (frame !== null) return
    frame = requestAnimationFrame(() => {
      frame = null
      if (parent.clientWidth > 0 && parent.clientHeight > 0) fit.fit()
    })
  })
  observer.observe(parent)
  return {
    size: () => ({ cols: terminal.cols, rows: terminal.rows }),
    write: (data) => terminal.write(data),
    focus: () => terminal.focus(),
    disableInput: () => {
      inputEnabled = false
      terminal.options.cursorBlink = false
    },
    dispose: () => {
      observer.disconnect()
      if (frame !== null) cancelAnimationFrame(frame)
      for (const subscription of subscriptions) subscription.dispose()
      terminal.dispose()
      styles.dispose()
    },
  }
}
