#!/usr/bin/env bash
# Installs moe-lm's default texts: Debian's `fortunes` and `fortunes-min` (English fortunes,
# 2.8 MB) into /usr/share/games/fortunes, and the Python standard library's source (the second
# domain, `libpython3.11-stdlib`) into /usr/lib/python3.11, with apt-get (as root; otherwise it
# prints the command). Whatever revision Debian serves today is fine: TextCorpus fingerprints
# the text and moe-lm prints that record beside its results (TextCorpus.recordedTexts names the
# revisions the documented figures used), it never refuses another revision.
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
