import type { IncomingMessage } from 'node:http'
import type { z } from 'zod'
import type { CopyFromTarget, CopyToTarget, SessionEnd } from '../../protocol/session.js'
import { engineFailure } from './engine-failure.js'
import { findContainer } from './find-container.js'
import type { ChannelContext, ChannelEvents, OpenedChannel, SessionChannel } from './session-channel.js'

const endOf = (error: unknown, what: string): SessionEnd => {
  const failure = engineFailure(error, what)
  return { error: { code: failure.code, message: failure.message } }
}

/** `cp-from`: the engine's tar of a path in the container (stopped or running), streamed out as stream 1. */
export async function openCopyFrom(target: z.infer<typeof CopyFromTarget>, context: ChannelContext, events: ChannelEvents): Promise<OpenedChannel> {
  const container = await findContainer(context, target.workload, target.container, false)
  const what = `reading ${target.path} from the container of ${target.workload}`
  let archive: IncomingMessage
  try {
    archive = await context.engine.getArchive(container.id, target.path)
  } catch (error) {
    throw engineFailure(error, what)
  }
  let finished = false
  const finish = (end: SessionEnd): void => {
    if (finished) return
    finished = true
    events.done(end)
  }
  archive.on('data', (chunk: Buffer) => {
    if (!finished) events.output(1, chunk)
  })
  archive.once('end', () => finish({ exitCode: 0 }))
  archive.once('error', (error) => finish(endOf(error, what)))
  archive.once('close', () => finish({ error: { code: 'failed', message: `${what}: the engine closed the archive before its end` } }))
  const channel: SessionChannel = {
    // Nothing goes in: bytes are dropped and credited back.
    write: (_bytes, written) => written(),
    endInput: () => undefined,
    resize: () => undefined,
    pause: () => archive.pause(),
    resume: () => archive.resume(),
    destroy: () => {
      finished = true
      archive.destroy()
    },
  }
  return { opened: { container: container.name }, channel }
}

/**
 * `cp-to`: stream 0 is a tar, written into the engine's upload as it comes (credited back as
 * the upload takes it); `eof` ends it, and the session ends once the engine accepted it, or
 * earlier when it refuses (no such directory, a read-only file system, not a tar).
 */
export async function openCopyTo(target: z.infer<typeof CopyToTarget>, context: ChannelContext, events: ChannelEvents): Promise<OpenedChannel> {
  const container = await findContainer(context, target.workload, target.container, false)
  const what = `unpacking into ${target.path} in the container of ${target.workload}`
  const upload = context.engine.putArchive(container.id, target.path)
  let finished = false
  upload.accepted.then(
    () => {
      if (!finished) {
        finished = true
        events.done({ exitCode: 0 })
      }
    },
    (error: unknown) => {
      if (!finished) {
        finished = true
        events.done(endOf(error, what))
      }
    },
  )
  // A write the destroyed upload refuses still calls back (with an error): its credit returns either way.
  upload.body.on('error', () => undefined)
  const channel: SessionChannel = {
    write: (bytes, written) => {
      if (upload.body.writableEnded || upload.body.destroyed) {
        written()
        return
      }
      upload.body.write(bytes, () => written())
    },
    endInput: () => {
      if (!upload.body.writableEnded) upload.body.end()
    },
    resize: () => undefined,
    pause: () => undefined,
    resume: () => undefined,
    destroy: () => {
      finished = true
      upload.abort()
    },
  }
  return { opened: { container: container.name }, channel }
}
