#!/usr/bin/env bash
# Installs what Fleetpanel needs on a Debian 12 machine, as root. Safe to run again: every step
# checks first and does nothing when its work is already done.
set -euo pipefail
cd "$(dirname "$0")/.."

DEBIAN_PACKAGES=(dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix nginx pdns-server pdns-backend-sqlite3
  openssh-server nftables dnsutils swaks iproute2 sqlite3 cron php-fpm roundcube-core roundcube-sqlite3
  mariadb-server php8.2-fpm php8.2-mysql wordpress pebble
  chromium)

missing=()
for pkg in "${DEBIAN_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  # Debian starts a daemon on install; the cluster runs its own instances on node addresses,
  # so nothing may start on the default ports. policy-rc.d also keeps mariadb-server's maintainer
  # scripts from stopping or restarting a MariaDB the machine already runs (each node runs its own
  # mariadbd with --defaults-file; the packaged /etc/mysql and /var/lib/mysql are left alone).
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
  chmod 755 /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  echo 'postfix postfix/main_mailer_type select No configuration' | debconf-set-selections
  # Webmail: every node writes its own Roundcube config and SQLite database; the packaged one is unused.
  echo 'roundcube-core roundcube/dbconfig-install boolean false' | debconf-set-selections
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q "${missing[@]}" >/dev/null
  rm -f /usr/sbin/policy-rc.d
  trap - EXIT
fi

# The system user that owns every node's Maildirs.
getent group fleetvmail >/dev/null || groupadd --system fleetvmail
getent passwd fleetvmail >/dev/null || useradd --system --gid fleetvmail --home-dir /nonexistent --shell /usr/sbin/nologin fleetvmail

# npm packages: install when node_modules is missing or older than the lock file.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# The compiled CLI, parent and agent (dist/cli): the launcher builds it when src/ is newer than
# the last build, so asking for the version is the whole step, and does nothing when it is current.
./fleetpanel --version >/dev/null

# The browser panel: built from ui/ into ui/dist when a source is newer than the build (or there
# is none). The build prints the first page's gzipped JavaScript and fails past its budget.
ui_stamp=ui/dist/index.html
if [ ! -f "$ui_stamp" ] || [ -n "$(find ui/index.html ui/vite.config.ts ui/src package-lock.json -newer "$ui_stamp" -print -quit)" ]; then
  echo "setup: building the web panel (ui/)"
  npx vite build ui
fi
