#!/bin/sh
# Start mosquitto for docker-compose: write its password file from the environment first, so
# no password lives in the image, the repository or a default. Refuses to start while any of
# them is unset. Users and their rights: acl beside this file.
set -eu

password_file=${MOSQUITTO_PASSWORD_FILE:-/mosquitto/data/passwd}
config=${MOSQUITTO_CONFIG:-/mosquitto/config/mosquitto.conf}
users="ingest:MQTT_INGEST_PASSWORD processor:MQTT_PROCESSOR_PASSWORD healthcheck:MQTT_HEALTHCHECK_PASSWORD"

tmp="$password_file.new"
rm -f "$tmp"
for pair in $users; do
    user=${pair%%:*}
    variable=${pair#*:}
    eval "password=\${$variable:-}"
    if [ -z "$password" ]; then
        echo "mosquitto: $variable is not set: set it in .env (see .env.example)" >&2
        exit 1
    fi
    if [ -f "$tmp" ]; then
        mosquitto_passwd -b "$tmp" "$user" "$password"
    else
        mosquitto_passwd -c -b "$tmp" "$user" "$password"
    fi
done
# owned by root, readable by the mosquitto group only (mosquitto 2.0.16+ warns otherwise);
# the data folder (persistence) belongs to the mosquitto user it drops to
chmod 0640 "$tmp"
if [ "$(id -u)" = 0 ] && id mosquitto >/dev/null 2>&1; then
    chown root:mosquitto "$tmp"
    chown mosquitto:mosquitto "$(dirname "$password_file")"
fi
mv "$tmp" "$password_file"
exec mosquitto -c "$config"
