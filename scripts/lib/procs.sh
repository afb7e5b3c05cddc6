# shellcheck shell=bash
# Process helpers: everything the script starts is recorded by PID and
# stopped by PID. Nothing is ever killed by name.

# "name pid" lines, in start order; stopped in reverse order.
SHOAL_PIDS=()

# start_bg NAME LOGFILE CMD...: start CMD in the background, record its PID.
# The PID is left in BG_PID (no subshell, so $! is the command itself).
start_bg() {
  local name=$1 logfile=$2
  shift 2
  "$@" >"$logfile" 2>&1 &
  BG_PID=$!
  SHOAL_PIDS+=("$name $BG_PID")
  log "started $name (pid $BG_PID): $*"
}

# stop_pid PID NAME [GRACE_SECONDS]: SIGTERM, wait up to GRACE, then SIGKILL.
stop_pid() {
  local pid=$1 name=$2 grace=${3:-10} i
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 10; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      log "$name (pid $pid) still running after ${grace}s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  fi
  # Reap it if it is our child; harmless otherwise.
  wait "$pid" 2>/dev/null || true
}

# stop_all_recorded: stop recorded processes, newest first.
# dockerd gets a longer grace period: it stops its containers and containerd.
stop_all_recorded() {
  local i entry name pid
  for ((i = ${#SHOAL_PIDS[@]} - 1; i >= 0; i--)); do
    entry=${SHOAL_PIDS[i]}
    name=${entry% *}
    pid=${entry##* }
    if [[ $name == dockerd ]]; then stop_pid "$pid" "$name" 30; else stop_pid "$pid" "$name" 10; fi
  done
  SHOAL_PIDS=()
}

# free_port: ask the kernel for an unused loopback port (bind port 0).
free_port() {
  node -e "const s=require('net').createServer();s.listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})"
}

# port_open PORT: true when something accepts TCP on 127.0.0.1:PORT.
port_open() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# wait_port NAME PID PORT LOGFILE [SECONDS]: wait for the port, failing fast
# (with the log's tail) if the process dies first.
wait_port() {
  local name=$1 pid=$2 port=$3 logfile=$4 limit=${5:-30} i
  for ((i = 0; i < limit * 10; i++)); do
    port_open "$port" && return 0
    if ! kill -0 "$pid" 2>/dev/null; then
      tail -n 30 "$logfile" >&2 || true
      die "$name exited before listening on 127.0.0.1:$port (log above)"
    fi
    sleep 0.1
  done
  tail -n 30 "$logfile" >&2 || true
  die "$name did not listen on 127.0.0.1:$port within ${limit}s (log above)"
}
