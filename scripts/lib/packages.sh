# shellcheck shell=bash
# Debian packages the suite needs. The check is a few `command -v` calls, so
# it costs nothing when everything is present; apt runs only when needed.

# binary -> package that provides it on Debian 12
SHOAL_BINARIES=(
  "docker docker.io"
  "dockerd docker.io"
  "mosquitto mosquitto"
  "nats-server nats-server"
  "docker-registry docker-registry"
  "ip iproute2"
  "chromium chromium"
  # libfaketime, to start an agent with its clock in the past (a board without an RTC)
  "faketime faketime"
  # a loop device stands in for a USB adapter in the device passthrough tests
  "losetup mount"
  # the interactive exec test drives `shoal exec -it` in a terminal multiplexer
  "tmux tmux"
)

missing_packages() {
  local entry bin pkg out=()
  for entry in "${SHOAL_BINARIES[@]}"; do
    bin=${entry% *}
    pkg=${entry#* }
    command -v "$bin" >/dev/null 2>&1 || out+=("$pkg")
  done
  # The test image copies /bin/busybox into an empty image, so it must be the
  # static build; Debian's plain `busybox` package is dynamically linked.
  if ! dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed'; then
    out+=(busybox-static)
  fi
  if ((${#out[@]})); then printf '%s\n' "${out[@]}" | sort -u; fi
}

ensure_packages() {
  local missing
  missing=$(missing_packages)
  [[ -z $missing ]] && return 0
  # shellcheck disable=SC2086
  set -- $missing
  if ((EUID != 0)); then
    die "missing Debian packages: $*. Run ./scripts/test as root (it installs them), or: apt-get install -y $*"
  fi
  log "installing Debian packages: $*"
  # Package scripts would start the system's mosquitto, docker and registry
  # services (default ports, a docker0 bridge). Tests start their own on free
  # loopback ports, so block service starts for this install only.
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod +x /usr/sbin/policy-rc.d
    SHOAL_POLICY_RC=1
  fi
  apt-get update -q || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" || die "apt-get install $* failed"
  remove_policy_rc
  missing=$(missing_packages)
  [[ -z $missing ]] || die "still missing after apt-get install: $missing"
}

remove_policy_rc() {
  if [[ ${SHOAL_POLICY_RC:-} == 1 ]]; then
    rm -f /usr/sbin/policy-rc.d
    SHOAL_POLICY_RC=
  fi
}
