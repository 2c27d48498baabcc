#!/usr/bin/env bash
# Installs the real text of the language-model experiments: Debian's `fortunes` and
# `fortunes-min` (English fortunes, 2.8 MB, 1:1.99.1-7.3 on Debian 12) into
# /usr/share/games/fortunes, with apt-get (as root; otherwise it prints the command).
# TextCorpus.debianFortunesFingerprint records the fingerprint of that version.
set -euo pipefail
if [ -n "$(ls /usr/share/games/fortunes 2>/dev/null | grep -v '\.' || true)" ] \
  && [ -e /usr/share/games/fortunes/pratchett ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: apt-get install -y --no-install-recommends fortunes fortunes-min" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fortunes fortunes-min
