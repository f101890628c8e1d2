#!/usr/bin/env bash
# Put the KaTeX stylesheet and fonts into book/src/katex/, from the `katex` package pinned in
# book/package-lock.json (the same KaTeX version mdbook-katex embeds), so that pages render math offline.
# Not committed: like a crate, it is fetched from its registry. Skips the work when the right version is there.
set -euo pipefail
cd "$(dirname "$0")"
want=$(node -p 'require("./package.json").dependencies.katex')
dest=src/katex
if [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$want" ] && [ -f "$dest/katex.min.css" ]; then
  exit 0
fi
npm ci --ignore-scripts --no-audit --no-fund --silent
got=$(node -p 'require("./node_modules/katex/package.json").version')
if [ "$got" != "$want" ]; then
  echo "fetch-katex: node_modules has katex $got, book/package.json pins $want" >&2
  exit 1
fi
rm -rf "$dest"
mkdir -p "$dest"
cp node_modules/katex/dist/katex.min.css "$dest/"
cp -r node_modules/katex/dist/fonts "$dest/"
echo "$want" > "$dest/VERSION"
echo "fetch-katex: KaTeX $want stylesheet and fonts in book/$dest"
