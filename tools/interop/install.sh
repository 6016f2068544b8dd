#!/usr/bin/env bash
# Installs the real programs the interop tests (tests/interop/) drive against the sandbox:
#
#   * Postfix, OpenDKIM and swaks from Debian, the ordinary way (apt-get install);
#   * Exim 4 (exim4-daemon-light) UNPACKED into a private root instead of installed,
#     because Debian's exim4 and postfix packages conflict (both provide
#     mail-transport-agent) and the tests need both on one machine. Only the package's
#     files are extracted (`apt-get download` + `dpkg -x`, no maintainer scripts); the
#     shared libraries its binary links against are installed as ordinary library
#     packages, and the Debian-exim user its binary is compiled to run as is created.
#
# Neither MTA is configured or started as a system service: the tests run private
# instances with their own configuration in a temporary directory.
#
# Idempotent and quick when everything is in place. Needs root (as in CI). Exits non-zero
# with a message naming what could not be installed.
#
# Environment: SMTP_SANDBOX_EXIM_ROOT overrides where Exim is unpacked (the tests read
# the same variable); default /opt/smtp-sandbox-interop/exim-root.
set -euo pipefail

EXIM_ROOT="${SMTP_SANDBOX_EXIM_ROOT:-/opt/smtp-sandbox-interop/exim-root}"
EXIM_PACKAGE=exim4-daemon-light
EXIM_USER=Debian-exim
# libnet-ssleay-perl is only "recommended" by swaks, but --tls needs it.
APT_PACKAGES=(postfix opendkim swaks libnet-ssleay-perl)
# maillog_file (a private log instead of syslog) needs Postfix 3.4 or later.
POSTFIX_MIN=3.4

say() { echo "interop: $*"; }
die() { echo "interop: ERROR: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "must run as root: it installs Debian packages and creates the $EXIM_USER user"
command -v apt-get >/dev/null && command -v dpkg >/dev/null \
    || die "apt-get/dpkg not found: the interop tests use Debian's packages"

installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q '^install ok installed$'; }

APT_UPDATED=
apt_update() {
    [ -n "$APT_UPDATED" ] && return
    say "apt-get update"
    apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
}

apt_install() {
    apt_update
    say "apt-get install $*"
    local log
    log="$(mktemp)"
    # --no-remove: never let apt take away a mail system the machine already has.
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends --no-remove "$@" \
        >"$log" 2>&1 \
        || { tail -n 20 "$log" >&2; rm -f "$log"; die "could not install Debian package(s): $*"; }
    rm -f "$log"
}

# --- 1. Postfix, OpenDKIM, swaks ------------------------------------------------------
missing=()
for package in "${APT_PACKAGES[@]}"; do installed "$package" || missing+=("$package"); done
if ((${#missing[@]})); then
    # "No configuration": the package writes no /etc/postfix/main.cf and starts nothing.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt_install "${missing[@]}"
else
    say "postfix, opendkim, swaks: already installed"
fi
postfix_version="$(postconf -d -h mail_version)"
dpkg --compare-versions "$postfix_version" ge "$POSTFIX_MIN" \
    || die "Postfix $postfix_version is too old: the tests need $POSTFIX_MIN+ for maillog_file"

# --- 2. Exim, unpacked ---------------------------------------------------------------
exim_binary="$EXIM_ROOT/usr/sbin/exim4"
stamp="$EXIM_ROOT/.installed"

if ! getent passwd "$EXIM_USER" >/dev/null; then
    # What exim4-base's postinst would do; the binary looks this user up at start.
    say "creating system user $EXIM_USER"
    useradd --system --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin "$EXIM_USER" || die "could not create the $EXIM_USER user"
fi

exim_runs() {
    # The binary runs when its libraries resolve; `-bV` with an empty (all defaults)
    # configuration prints the version without touching any system file.
    local conf status
    conf="$(mktemp)"
    chmod 644 "$conf"
    "$exim_binary" -C "$conf" -bV >/dev/null 2>&1 && status=0 || status=$?
    rm -f "$conf"
    return "$status"
}

if [ -f "$stamp" ] && [ -x "$exim_binary" ] && exim_runs; then
    say "exim: already unpacked in $EXIM_ROOT ($(cat "$stamp"))"
else
    apt_update
    work="$(mktemp -d)"
    trap 'rm -rf "$work"' EXIT
    # apt fetches as the unprivileged _apt user: let it write there.
    chmod 755 "$work"
    if getent passwd _apt >/dev/null; then chown _apt "$work"; fi
    say "apt-get download $EXIM_PACKAGE"
    (cd "$work" && apt-get download -q "$EXIM_PACKAGE" >/dev/null 2>"$work/download.log") \
        || { cat "$work/download.log" >&2; die "could not download $EXIM_PACKAGE"; }
    deb="$(ls "$work"/"$EXIM_PACKAGE"_*.deb)"
    version="$(dpkg-deb -f "$deb" Version)"

    # Its shared libraries, as ordinary packages: every lib* dependency (first of each
    # alternative, version constraints dropped). exim4-base/debconf are not needed to run
    # the binary with our own configuration.
    libraries=()
    while read -r name; do
        installed "$name" || libraries+=("$name")
    done < <(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/[[:space:]]//g' \
             | grep '^lib' || true)
    if ((${#libraries[@]})); then apt_install "${libraries[@]}"; fi

    say "unpacking $EXIM_PACKAGE $version into $EXIM_ROOT"
    rm -rf "$EXIM_ROOT.new"
    mkdir -p "$EXIM_ROOT.new"
    dpkg -x "$deb" "$EXIM_ROOT.new" || die "could not unpack $deb"
    # The packaged binary is setuid root; the tests run it as root, so a stray setuid
    # copy outside the package manager's care is not wanted.
    chmod u-s "$EXIM_ROOT.new/usr/sbin/exim4"
    echo "$EXIM_PACKAGE $version" >"$EXIM_ROOT.new/.installed"
    rm -rf "$EXIM_ROOT"
    mv "$EXIM_ROOT.new" "$EXIM_ROOT"

    missing_libraries="$(ldd "$exim_binary" | grep 'not found' || true)"
    [ -z "$missing_libraries" ] || die "exim needs libraries that are not installed: $missing_libraries"
    exim_runs || die "$exim_binary does not run (try: $exim_binary -C /dev/null -bV)"
    say "exim: $(cat "$stamp") ready"
fi
