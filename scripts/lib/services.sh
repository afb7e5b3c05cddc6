# shellcheck shell=bash
# Services shared by the whole run: a loopback image registry, Mosquitto and
# NATS with JetStream, each on a free loopback port.

start_registry() {
  local port dir=$SHOAL_TMP/registry
  port=$(free_port)
  mkdir -p "$dir/data"
  cat >"$dir/config.yml" <<YAML
version: 0.1
log: { level: warn }
storage:
  filesystem: { rootdirectory: $dir/data }
  delete: { enabled: true }
http: { addr: 127.0.0.1:$port }
YAML
  start_bg docker-registry "$dir/registry.log" docker-registry serve "$dir/config.yml"
  wait_port docker-registry "$BG_PID" "$port" "$dir/registry.log"
  export SHOAL_TEST_REGISTRY=127.0.0.1:$port
  # Docker treats 127.0.0.0/8 as an insecure registry, so plain HTTP works.
  SHOAL_REGISTRY_TAG=$SHOAL_TEST_REGISTRY/$SHOAL_TEST_IMAGE
  docker tag "$SHOAL_TEST_IMAGE" "$SHOAL_REGISTRY_TAG"
  docker push "$SHOAL_REGISTRY_TAG" >"$dir/push.log" 2>&1 ||
    { cat "$dir/push.log" >&2; die "docker push to the loopback registry failed"; }
  # Drop the local tag so a test's pull of it is a real pull from the registry.
  docker rmi "$SHOAL_REGISTRY_TAG" >/dev/null 2>&1 || true
}

start_mosquitto() {
  local port dir=$SHOAL_TMP/mosquitto
  port=$(free_port)
  mkdir -p "$dir"
  # `user root`: as root, mosquitto would otherwise switch to the mosquitto
  # user, which cannot read files in our 0700 temp dir.
  printf 'user root\nlistener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$port" >"$dir/mosquitto.conf"
  start_bg mosquitto "$dir/mosquitto.log" mosquitto -c "$dir/mosquitto.conf"
  wait_port mosquitto "$BG_PID" "$port" "$dir/mosquitto.log"
  export SHOAL_TEST_MQTT_URL=mqtt://127.0.0.1:$port
}

start_nats() {
  local port dir=$SHOAL_TMP/nats
  port=$(free_port)
  mkdir -p "$dir/js"
  start_bg nats-server "$dir/nats.log" nats-server -a 127.0.0.1 -p "$port" -js -sd "$dir/js"
  wait_port nats-server "$BG_PID" "$port" "$dir/nats.log"
  export SHOAL_TEST_NATS_URL=nats://127.0.0.1:$port
}
