// The admin token lives in sessionStorage: it survives a reload but not the tab, and is never
// written to localStorage or a cookie.
const KEY = 'shoal.adminToken'

export function loadToken(): string | null {
  try {
    return sessionStorage.getItem(KEY)
  } catch {
    return null
  }
}

export function saveToken(token: string): void {
  sessionStorage.setItem(KEY, token)
}

export function clearToken(): void {
  sessionStorage.removeItem(KEY)
}
