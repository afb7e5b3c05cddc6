#!/usr/bin/env node
import { endQuietlyOnClosedPipe } from './io.js'
import { runCli } from './program.js'

endQuietlyOnClosedPipe(process.stdout)

process.exitCode = await runCli(process.argv.slice(2))
