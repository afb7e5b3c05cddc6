/**
 * The one thing the helpers need from a tap test: a way to register cleanup.
 * Structural, so any tap `Test` (or a fake in a unit test) fits.
 */
export interface TestLike {
  teardown(fn: () => unknown): void
}
