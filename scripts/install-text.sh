#!/usr/bin/env bash
# Installs the real text of the language-model experiments: Debian's `fortunes` and
# `fortunes-min` (English fortunes, 2.8 MB, 1:1.99.1-7.3 on Debian 12) into
# /usr/share/games/fortunes, and the Python standard library's source (the second domain,
# `libpython3.11-stdlib` 3.11.2-6+deb12u6 on Debian 12) into /usr/lib/python3.11, with
# apt-get (as root; otherwise it prints the command). TextCorpus.debianFortunesFingerprint
# and .debianPythonFingerprint record the fingerprints of those versions.
set -euo pipefail
if [ -n "$(ls /usr/share/games/fortunes 2>/dev/null | grep -v '\.' || true)" ] \
  && [ -e /usr/share/games/fortunes/pratchett ] && [ -e /usr/lib/python3.11/difflib.py ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "run as root: apt-get install -y --no-install-recommends fortunes fortunes-min libpython3.11-stdlib" >&2
  exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fortunes fortunes-min libpython3.11-stdlib
