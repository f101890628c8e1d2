#!/usr/bin/env bash
# Put into book/src/cjk-fonts/ a subset of Noto Sans SC holding just the Chinese characters the book uses, with
# cjk.css to load it (theme/head.hbs links it), so that chapter titles like 感知机 render on machines without a
# CJK font, offline. Cut at build time from npm packages pinned in book/package-lock.json, like the KaTeX
# fonts (fetch-katex.sh): not committed. Skips the work when nothing changed; fails if a used character is not
# in the font. The work is in fetch-fonts.mjs.
set -euo pipefail
cd "$(dirname "$0")"
exec node fetch-fonts.mjs
