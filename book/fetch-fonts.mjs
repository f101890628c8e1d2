// Put a subset of Noto Sans SC into book/src/cjk-fonts/: only the Chinese characters the book uses (chapter
// titles such as 感知机, a few words in the text), so that they render on a machine without a CJK font and the book
// still reads offline. Run by fetch-fonts.sh; see that file.
//
// 1. Collect every distinct CJK character of the pages: book.toml, src/*.md (SUMMARY.md too) and the code they
//    include ({{#include file:anchor}}, resolved as mdbook does).
// 2. The variable font of @fontsource-variable/noto-sans-sc (pinned in package.json / package-lock.json) comes
//    in numbered woff2 chunks, each with its unicode-range (unicode.json). For every chunk that holds a used
//    character, cut it down with subset-font (HarfBuzz compiled to WebAssembly: npm alone installs it) to those
//    characters, keeping the weight axis from 400 to 700 (text and bold headings in one file).
// 3. Write cjk.css with one @font-face per file, family "zerodl CJK", unicode-range narrowed to the characters
//    the file holds, so that a browser downloads a file only for a page that needs it and no system font has it.
//    theme/zerodl.css names the usual system CJK fonts before "zerodl CJK" in its font-family lists.
//
// Fails when a used character is in no chunk or missing from the font. Skips the work when the characters, the
// pinned versions and this script are those of the last run (the STAMP file).
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const book = path.dirname(fileURLToPath(import.meta.url));
process.chdir(book);
const FONT_PKG = '@fontsource-variable/noto-sans-sc';
const SUBSET_PKG = 'subset-font';
const FAMILY = 'zerodl CJK';
const WEIGHTS = { min: 400, max: 700 };
const dest = 'src/cjk-fonts';

function die(msg) {
  console.error(`fetch-fonts: ${msg}`);
  process.exit(1);
}

// CJK characters: Han ideographs, kana, hangul, bopomofo, and the CJK symbol and punctuation blocks
// (《》：。，、 and the like). Latin, Greek and math symbols stay with the text fonts and KaTeX.
const CJK = /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\p{Script=Bopomofo}\u2e80-\u2fff\u3000-\u303f\u3200-\u33ff\ufe30-\ufe4f\uff00-\uffef]/gu;

// The text of an include, as mdbook resolves `{{#include path}}`, `{{#include path:anchor}}` and
// `{{#include path:from:to}}` (line numbers, 1-based, either may be empty).
function included(page, spec) {
  const parts = spec.split(':');
  const file = path.resolve(path.dirname(page), parts[0]);
  if (!fs.existsSync(file)) die(`${page}: {{#include ${spec}}}: no file ${file}`);
  const lines = fs.readFileSync(file, 'utf8').split('\n');
  if (parts.length === 1) return lines.join('\n');
  if (parts.length === 2 && !/^\d*$/.test(parts[1])) {
    const name = parts[1];
    const start = lines.findIndex((l) => new RegExp(`ANCHOR:\\s*${name}\\b`).test(l));
    const end = lines.findIndex((l, i) => i > start && new RegExp(`ANCHOR_END:\\s*${name}\\b`).test(l));
    if (start < 0 || end < 0) die(`${page}: {{#include ${spec}}}: no anchor ${name}`);
    return lines.slice(start + 1, end).filter((l) => !/ANCHOR(_END)?:/.test(l)).join('\n');
  }
  // `file:N` is line N alone; `file:N:M`, `file:N:` and `file::M` are ranges.
  const from = parts[1] ? Number(parts[1]) - 1 : 0;
  const to = parts.length === 2 ? from + 1 : parts[2] ? Number(parts[2]) : lines.length;
  return lines.slice(from, to).join('\n');
}

function usedCharacters() {
  let text = fs.readFileSync('book.toml', 'utf8');
  for (const name of fs.readdirSync('src').filter((f) => f.endsWith('.md')).sort()) {
    const page = path.join('src', name);
    const md = fs.readFileSync(page, 'utf8');
    text += md;
    for (const m of md.matchAll(/\{\{#(?:include|rustdoc_include)\s+([^}\s]+)\s*\}\}/g)) text += included(page, m[1]);
  }
  const chars = [...new Set(text.match(CJK) ?? [])];
  return chars.sort((a, b) => a.codePointAt(0) - b.codePointAt(0));
}

const pins = JSON.parse(fs.readFileSync('package.json', 'utf8')).dependencies;
const chars = usedCharacters();
const stamp = JSON.stringify({
  font: `${FONT_PKG}@${pins[FONT_PKG]}`,
  subset: `${SUBSET_PKG}@${pins[SUBSET_PKG]}`,
  weights: WEIGHTS,
  script: crypto.createHash('sha256').update(fs.readFileSync(fileURLToPath(import.meta.url))).digest('hex'),
  chars: chars.join(''),
});
if (fs.existsSync(`${dest}/STAMP`) && fs.readFileSync(`${dest}/STAMP`, 'utf8') === stamp && fs.existsSync(`${dest}/cjk.css`)) {
  process.exit(0);
}

// node_modules as package-lock.json pins it (fetch-katex.sh may have installed it already).
const installed = (pkg) => {
  try {
    return JSON.parse(fs.readFileSync(`node_modules/${pkg}/package.json`, 'utf8')).version;
  } catch {
    return null;
  }
};
if (installed(FONT_PKG) !== pins[FONT_PKG] || installed(SUBSET_PKG) !== pins[SUBSET_PKG]) {
  execFileSync('npm', ['ci', '--ignore-scripts', '--no-audit', '--no-fund', '--silent'], { stdio: 'inherit' });
}
for (const pkg of [FONT_PKG, SUBSET_PKG]) {
  if (installed(pkg) !== pins[pkg]) die(`node_modules has ${pkg} ${installed(pkg)}, book/package.json pins ${pins[pkg]}`);
}
const { default: subsetFont } = await import(SUBSET_PKG);

// The chunks: "[12]" -> "U+4e00,U+4e8c-4e8d,...".
const fontDir = `node_modules/${FONT_PKG}`;
const ranges = (s) =>
  s.split(',').map((r) => {
    const [a, b] = r.trim().replace(/^U\+/i, '').split('-');
    return [parseInt(a, 16), parseInt(b ?? a, 16)];
  });
const chunks = Object.entries(JSON.parse(fs.readFileSync(`${fontDir}/unicode.json`, 'utf8'))).map(([key, r]) => ({
  id: key.replace(/[[\]]/g, ''),
  ranges: ranges(r),
  chars: [],
}));
const uncovered = [];
for (const c of chars) {
  const cp = c.codePointAt(0);
  const chunk = chunks.find((k) => k.ranges.some(([a, b]) => cp >= a && cp <= b));
  if (chunk) chunk.chars.push(c);
  else uncovered.push(c);
}
const hex = (c) => `U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}`;
if (uncovered.length) die(`${FONT_PKG} covers none of ${uncovered.map((c) => `${c} (${hex(c)})`).join(', ')}`);

// The characters a font maps (its cmap: format 4 and 12 subtables), to prove the subset holds every glyph asked.
function cmapCodepoints(buf) {
  const numTables = buf.readUInt16BE(4);
  let cmap = -1;
  for (let i = 0; i < numTables; i++) if (buf.toString('latin1', 12 + 16 * i, 16 + 16 * i) === 'cmap') cmap = buf.readUInt32BE(20 + 16 * i);
  if (cmap < 0) return new Set();
  const out = new Set();
  for (let i = 0, n = buf.readUInt16BE(cmap + 2); i < n; i++) {
    const sub = cmap + buf.readUInt32BE(cmap + 8 + 8 * i);
    const format = buf.readUInt16BE(sub);
    if (format === 4) {
      const segs = buf.readUInt16BE(sub + 6) / 2;
      for (let s = 0; s < segs; s++) {
        const end = buf.readUInt16BE(sub + 14 + 2 * s);
        const start = buf.readUInt16BE(sub + 16 + 2 * segs + 2 * s);
        const delta = buf.readInt16BE(sub + 16 + 4 * segs + 2 * s);
        const roAt = sub + 16 + 6 * segs + 2 * s;
        const ro = buf.readUInt16BE(roAt);
        for (let cp = start; cp <= end && cp !== 0xffff; cp++) {
          const gid = ro === 0 ? (cp + delta) & 0xffff : buf.readUInt16BE(roAt + ro + 2 * (cp - start));
          if (gid !== 0) out.add(cp);
        }
      }
    } else if (format === 12) {
      for (let g = 0, n = buf.readUInt32BE(sub + 12); g < n; g++) {
        const at = sub + 16 + 12 * g;
        for (let cp = buf.readUInt32BE(at); cp <= buf.readUInt32BE(at + 4); cp++) out.add(cp);
      }
    }
  }
  return out;
}

fs.rmSync(dest, { recursive: true, force: true });
fs.mkdirSync(dest, { recursive: true });
let css = `/* Generated by book/fetch-fonts.mjs: Noto Sans SC (${FONT_PKG} ${pins[FONT_PKG]}, SIL Open Font License,
   see LICENSE here) cut down to the CJK characters of the book. */\n`;
let bytes = 0;
const used = chunks.filter((k) => k.chars.length);
for (const k of used) {
  const source = fs.readFileSync(`${fontDir}/files/noto-sans-sc-${k.id}-wght-normal.woff2`);
  const text = k.chars.join('');
  const opts = { variationAxes: { wght: WEIGHTS } };
  const sfnt = await subsetFont(source, text, { ...opts, targetFormat: 'sfnt' });
  const have = cmapCodepoints(sfnt);
  const missing = k.chars.filter((c) => !have.has(c.codePointAt(0)));
  if (missing.length) die(`Noto Sans SC has no glyph for ${missing.map((c) => `${c} (${hex(c)})`).join(', ')}`);
  const woff2 = await subsetFont(source, text, { ...opts, targetFormat: 'woff2' });
  const file = `noto-sans-sc-${k.id}.woff2`;
  fs.writeFileSync(`${dest}/${file}`, woff2);
  bytes += woff2.length;
  css += `@font-face {
  font-family: '${FAMILY}';
  font-style: normal;
  font-weight: ${WEIGHTS.min} ${WEIGHTS.max};
  font-display: swap;
  src: url(${file}) format('woff2');
  unicode-range: ${k.chars.map(hex).join(',')};
}\n`;
}
fs.writeFileSync(`${dest}/cjk.css`, css);
fs.copyFileSync(`${fontDir}/LICENSE`, `${dest}/LICENSE`);
fs.writeFileSync(`${dest}/STAMP`, stamp);
console.log(
  `fetch-fonts: ${chars.length} CJK characters in ${used.length} Noto Sans SC subsets, ${bytes} bytes, in book/${dest}`,
);
