//! The floors of the crate, checked on the source: each module imports only from the floors below it
//! (kernels, layout → autograd, data, plot → by_hand → nn, optim → train → chapters → binaries).

use std::fs;
use std::path::{Path, PathBuf};

/// Every `.rs` file of a module (a file `src/m.rs`, or a folder `src/m/`, or both).
fn sources(module: &str) -> Vec<PathBuf> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    let file = src.join(format!("{module}.rs"));
    if file.exists() {
        out.push(file);
    }
    let mut dirs = vec![src.join(module)];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = fs::read_dir(&d) else {
            continue;
        };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    assert!(!out.is_empty(), "no sources for {module}");
    out
}

#[test]
fn every_floor_imports_only_from_below() {
    let upper = |floor: &[&'static str]| -> Vec<&'static str> {
        let all = [
            "kernels", "layout", "autograd", "data", "plot", "by_hand", "nn", "optim", "train",
            "chapters",
        ];
        all.into_iter().filter(|m| !floor.contains(m)).collect()
    };
    // Each module, and what it may import from the crate's modules.
    let rules: [(&str, Vec<&str>); 10] = [
        ("kernels", upper(&[])),
        ("layout", upper(&[])),
        ("autograd", upper(&["kernels", "layout"])),
        ("data", upper(&["kernels", "layout"])),
        ("plot", upper(&[])),
        ("by_hand", upper(&["kernels", "layout", "autograd"])),
        ("nn", upper(&["kernels", "layout", "autograd", "by_hand"])),
        ("optim", upper(&["kernels", "layout", "autograd"])),
        (
            "train",
            upper(&[
                "kernels", "layout", "autograd", "data", "by_hand", "nn", "optim",
            ]),
        ),
        (
            "chapters",
            upper(&[
                "kernels", "layout", "autograd", "data", "plot", "by_hand", "nn", "optim", "train",
            ]),
        ),
    ];
    let mut problems = Vec::new();
    for (module, forbidden) in &rules {
        for path in sources(module) {
            let text = fs::read_to_string(&path).unwrap();
            for name in forbidden.iter().filter(|n| *n != module) {
                let used = format!("crate::{name}");
                if text.contains(&format!("{used}::")) || text.contains(&format!("{used};")) {
                    problems.push(format!("{}: uses {used}", path.display()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
