/**
 * The sizes of a remote session's frames (protocol/session.ts frames them), apart from its
 * schemas: codec.ts bounds each channel's messages with them, and what loads the codec (the CLI's
 * `apply`, among others) must not load zod for a constant (docs/benchmarks.md, section 9).
 */
export const SESSION_ID_BYTES = 16
export const SESSION_HEADER_BYTES = 1 + SESSION_ID_BYTES + 4
/** Most raw bytes in one data frame; larger writes are cut into several frames. */
export const SESSION_MAX_DATA_BYTES = 64 * 1024
/** Largest JSON body (open, opened, end, close reason). */
export const SESSION_MAX_JSON_BYTES = 24 * 1024
/** Largest frame either side accepts: what the broker's per-message limits must allow. */
export const SESSION_MAX_FRAME_BYTES = SESSION_HEADER_BYTES + 1 + Math.max(SESSION_MAX_DATA_BYTES, SESSION_MAX_JSON_BYTES)
