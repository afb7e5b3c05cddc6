# shellcheck shell=bash
# Docker engine and the test image.

SHOAL_DOCKERD_PID=

docker_up() { docker version >/dev/null 2>&1; }

# start_dockerd [EXTRA_ARGS...]: start an engine without a bridge network, so
# containers never get an address off loopback (tests use network_mode host).
# Returns non-zero if it does not answer within 60 s.
start_dockerd() {
  local i
  # SHOAL_DOCKERD_ARGS: extra flags, e.g. a private -H/--data-root/--exec-root
  # to run beside another engine (then set DOCKER_HOST to match).
  # shellcheck disable=SC2086
  start_bg dockerd "$SHOAL_TMP/dockerd.log" \
    dockerd --bridge=none --iptables=false --ip-masq=false ${SHOAL_DOCKERD_ARGS:-} "$@"
  SHOAL_DOCKERD_PID=$BG_PID
  for ((i = 0; i < 120; i++)); do
    docker_up && return 0
    kill -0 "$SHOAL_DOCKERD_PID" 2>/dev/null || break
    sleep 0.5
  done
  tail -n 30 "$SHOAL_TMP/dockerd.log" >&2 || true
  stop_dockerd
  return 1
}

stop_dockerd() {
  [[ -n $SHOAL_DOCKERD_PID ]] || return 0
  stop_pid "$SHOAL_DOCKERD_PID" dockerd 30
  # Forget it so stop_all_recorded does not try the (now free) PID again.
  local kept=() e
  for e in "${SHOAL_PIDS[@]}"; do [[ $e == "dockerd $SHOAL_DOCKERD_PID" ]] || kept+=("$e"); done
  SHOAL_PIDS=("${kept[@]}")
  SHOAL_DOCKERD_PID=
}

build_test_image() {
  local root=$SHOAL_TMP/image-root a
  rm -rf "$root"
  mkdir -p "$root/bin"
  cp /bin/busybox "$root/bin/"
  for a in sh echo sleep cat httpd wget env nc false true ls kill date printf seq yes head; do
    ln -s busybox "$root/bin/$a"
  done
  tar -C "$root" -c . | docker import - "$SHOAL_TEST_IMAGE" >/dev/null
}

ensure_test_image() {
  docker image inspect "$SHOAL_TEST_IMAGE" >/dev/null 2>&1 && return 0
  log "building $SHOAL_TEST_IMAGE from /bin/busybox"
  build_test_image
}

# A container that actually runs proves the storage driver mounts and that
# runc works here, which `docker version` alone does not.
smoke_container() {
  docker run --rm --network host --label "io.shoal.test-run=$SHOAL_TEST_RUN" \
    "$SHOAL_TEST_IMAGE" true >"$SHOAL_TMP/smoke.log" 2>&1
}

ensure_docker() {
  if docker_up; then
    log "using the running Docker engine"
  else
    log "starting dockerd"
    if ! start_dockerd; then
      if docker_up; then
        # Another run started an engine at the same moment; ours lost the race.
        log "another dockerd came up meanwhile; using it"
      else
        log "dockerd did not start with its default storage driver; retrying with --storage-driver=vfs"
        start_dockerd --storage-driver=vfs || die "dockerd did not start (log above)"
      fi
    fi
  fi
  ensure_test_image || die "could not build $SHOAL_TEST_IMAGE"
  if smoke_container; then
    log "docker ready: storage driver $(docker info --format '{{.Driver}}' 2>/dev/null)"
    return 0
  fi
  cat "$SHOAL_TMP/smoke.log" >&2
  # overlay2 can fail to mount inside some sandboxes (overlay on overlay);
  # vfs always works, only slower and bigger. Only for an engine we own.
  if [[ -n $SHOAL_DOCKERD_PID ]]; then
    log "containers do not run with $(docker info --format '{{.Driver}}'); restarting dockerd with --storage-driver=vfs"
    stop_dockerd
    start_dockerd --storage-driver=vfs || die "dockerd with vfs did not start (log above)"
    ensure_test_image || die "could not build $SHOAL_TEST_IMAGE"
    smoke_container || { cat "$SHOAL_TMP/smoke.log" >&2; die "containers do not run even with vfs"; }
    log "docker ready: storage driver vfs"
    return 0
  fi
  die "the running Docker engine cannot run $SHOAL_TEST_IMAGE (output above)"
}

# Containers that tests created through the agent carry this run's label.
remove_test_containers() {
  docker_up || return 0
  local ids
  ids=$(docker ps -aq --filter "label=io.shoal.test-run=$SHOAL_TEST_RUN" 2>/dev/null) || return 0
  if [[ -n $ids ]]; then
    log "removing leftover test containers: ${ids//$'\n'/ }"
    # shellcheck disable=SC2086
    docker rm -f $ids >/dev/null 2>&1 || true
  fi
}
