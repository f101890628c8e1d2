//! The book cannot drift from the code: every `{{#include file:anchor}}` in `book/src` names a file that exists
//! and an anchor that exists in it with something between its markers (mdbook itself includes nothing, silently,
//! for a missing anchor), and every figure a page shows exists in `plots/`.

use std::fs;
use std::path::{Path, PathBuf};

fn pages() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("book/src");
    let mut out: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("book/src")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    out.sort();
    out
}

/// `{{#include path}}` and `{{#include path:anchor}}` (also `#rustdoc_include`), in order of appearance.
fn includes(text: &str) -> Vec<(String, Option<String>)> {
    let mut found = Vec::new();
    for part in text.split("{{#").skip(1) {
        let Some(end) = part.find("}}") else { continue };
        let body = part[..end].trim();
        let Some(spec) = body
            .strip_prefix("include ")
            .or_else(|| body.strip_prefix("rustdoc_include "))
        else {
            continue;
        };
        let spec = spec.trim();
        match spec.split_once(':') {
            Some((path, anchor)) if !anchor.chars().next().is_some_and(|c| c.is_ascii_digit()) => {
                found.push((path.to_string(), Some(anchor.to_string())))
            }
            Some((path, _lines)) => found.push((path.to_string(), None)),
            None => found.push((spec.to_string(), None)),
        }
    }
    found
}

#[test]
fn every_include_resolves_to_a_non_empty_anchor() {
    let mut problems = Vec::new();
    let mut count = 0;
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        for (path, anchor) in includes(&text) {
            count += 1;
            let file = page.parent().unwrap().join(&path);
            let Ok(src) = fs::read_to_string(&file) else {
                problems.push(format!("{}: {path}: no such file", page.display()));
                continue;
            };
            let Some(anchor) = anchor else { continue };
            let start = format!("ANCHOR: {anchor}");
            let end = format!("ANCHOR_END: {anchor}");
            let lines: Vec<&str> = src.lines().collect();
            let s = lines.iter().position(|l| l.trim_end().ends_with(&start));
            let e = lines.iter().position(|l| l.trim_end().ends_with(&end));
            match (s, e) {
                (Some(s), Some(e)) if e > s + 1 => {}
                (Some(_), Some(_)) => {
                    problems.push(format!("{}: {path}:{anchor}: empty anchor", page.display()))
                }
                _ => problems.push(format!(
                    "{}: {path}:{anchor}: no such anchor",
                    page.display()
                )),
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(count > 0, "the book includes no code at all");
}

#[test]
fn every_figure_a_page_shows_exists() {
    let mut problems = Vec::new();
    for page in pages() {
        let text = fs::read_to_string(&page).unwrap();
        // Markdown images, `](plots/…)`, and the numbered figures' `<img src="plots/…">`.
        let markdown = text
            .split("](")
            .skip(1)
            .filter_map(|p| p.find(')').map(|e| &p[..e]));
        let html = text
            .split("src=\"")
            .skip(1)
            .filter_map(|p| p.find('"').map(|e| &p[..e]));
        for target in markdown.chain(html) {
            if target.starts_with("plots/") {
                let file = Path::new(env!("CARGO_MANIFEST_DIR")).join(target);
                if !file.exists() {
                    problems.push(format!(
                        "{}: {target}: not in plots/ (run the figures binary)",
                        page.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
