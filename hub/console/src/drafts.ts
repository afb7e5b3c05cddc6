// The manifest being edited on the apply page, kept for the tab (a reload keeps the draft).
const KEY = 'shoal.applyDraft'

export function loadDraft(): string | null {
  try {
    return sessionStorage.getItem(KEY)
  } catch {
    return null
  }
}

export function saveDraft(text: string): void {
  try {
    sessionStorage.setItem(KEY, text)
  } catch {
    // storage full or disabled: the draft just is not kept
  }
}
