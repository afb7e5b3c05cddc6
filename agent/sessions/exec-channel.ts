import type { Socket } from 'node:net'
import type { z } from 'zod'
import type { ExecTarget, SessionEnd } from '../../protocol/session.js'
import { DockerStreamDemuxer } from '../runtime/docker-stream-demux.js'
import { engineFailure } from './engine-failure.js'
import { findContainer } from './find-container.js'
import type { ChannelContext, ChannelEvents, OpenedChannel } from './session-channel.js'

/** After the output ends, the engine may say Running a moment longer: asked again at 20 ms, 40 ms ... 250 ms, this many times. */
const EXIT_POLLS = 20

/**
 * `exec`: a command in the workload's running container through the engine's exec, attached by
 * stream hijacking. Output is demultiplexed unless it has a TTY; stdin goes to the socket, and
 * `eof` half-closes it. When the output ends, the exit code comes from the exec's inspection.
 */
export async function openExec(target: z.infer<typeof ExecTarget>, context: ChannelContext, events: ChannelEvents): Promise<OpenedChannel> {
  const container = await findContainer(context, target.workload, target.container, true)
  const { engine } = context
  let socket: Socket
  let execId: string
  try {
    execId = await engine.createExec(container.id, target.command, {
      stdin: target.stdin,
      tty: target.tty,
      // What `docker exec -t` gives a shell, so it knows how to draw.
      ...(target.tty ? { env: ['TERM=xterm'] } : {}),
      ...(target.size ? { size: target.size } : {}),
    })
    socket = await engine.attachExec(execId, target.tty)
  } catch (error) {
    throw engineFailure(error, `exec in the container of ${target.workload}`)
  }
  // A size given at create is ignored by engines before API 1.42: set it again now it runs.
  if (target.tty && target.size) void engine.resizeExec(execId, target.size).catch(() => undefined)

  const demux = target.tty ? null : new DockerStreamDemuxer()
  let finished = false
  const finish = (end: SessionEnd): void => {
    if (finished) return
    finished = true
    events.done(end)
  }
  socket.on('data', (chunk: Buffer) => {
    if (finished) return
    if (!demux) {
      events.output(1, chunk)
      return
    }
    try {
      for (const piece of demux.push(chunk)) events.output(piece.stream, piece.bytes)
    } catch (error) {
      socket.destroy()
      finish({ error: { code: 'failed', message: `the engine's exec stream was garbled: ${(error as Error).message}` } })
    }
  })
  socket.on('error', () => undefined)
  socket.once('close', () => {
    if (finished) return
    void exitCode(context, execId).then(finish)
  })

  let inputEnded = false
  return {
    opened: { container: container.name },
    channel: {
      write: (bytes, written) => {
        // Without stdin, or after eof, the bytes have nowhere to go: dropped, and credited back.
        if (!target.stdin || inputEnded || socket.destroyed) {
          written()
          return
        }
        socket.write(bytes, () => written())
      },
      endInput: () => {
        if (inputEnded) return
        inputEnded = true
        if (target.stdin && !socket.destroyed) socket.end()
      },
      resize: (size) => {
        if (target.tty) void engine.resizeExec(execId, size).catch(() => undefined)
      },
      pause: () => socket.pause(),
      resume: () => socket.resume(),
      destroy: () => {
        finished = true
        socket.destroy()
      },
    },
  }
}

async function exitCode(context: ChannelContext, execId: string): Promise<SessionEnd> {
  for (let attempt = 0, wait = 20; attempt < EXIT_POLLS; attempt++, wait = Math.min(wait * 2, 250)) {
    try {
      const state = await context.engine.inspectExec(execId)
      if (!state.Running && state.ExitCode !== null) return { exitCode: state.ExitCode }
    } catch (error) {
      const failure = engineFailure(error, 'reading the exit code of the exec')
      return { error: { code: failure.code, message: failure.message } }
    }
    await new Promise((resolve) => setTimeout(resolve, wait))
  }
  return { error: { code: 'failed', message: "the command's output ended but the engine still says it runs; its exit code is unknown" } }
}
