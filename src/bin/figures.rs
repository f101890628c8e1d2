//! `cargo run --release --bin figures`: regenerate the book's figures into `plots/`, from fixed seeds, in 10 to 25
//! minutes on 2 cores. `-- --full` adds the long runs (the CNNs of chapters 4 to 6, 20 to 45 minutes more).
//! Every chapter of [`zerodl::chapters::REGISTRY`] draws its own, and its diagrams (`-- --chapter=ch9` draws one
//! chapter's only, and the flag can be repeated; `-- --chapter=diagrams` the diagrams only);
//! figures that need a dataset which is missing are skipped, and said to be.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zerodl::chapters::{diagrams, performance, Figures, REGISTRY};
use zerodl::data::mnist;

// Why: see `zerodl::alloc`.
#[global_allocator]
static ALLOC: zerodl::alloc::MiMalloc = zerodl::alloc::MiMalloc;

fn run(dir: &Path, full: bool, only: &[&str]) -> zerodl::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| zerodl::Error::io(dir, e))?;
    let data = match mnist::load() {
        Ok(data) => Ok(data),
        Err(e @ zerodl::Error::MissingData { .. }) => Err(e.to_string()),
        Err(e) => return Err(e),
    };
    let mut out = Figures::new(dir, data.as_ref().map_err(Clone::clone), full);
    for chapter in REGISTRY
        .iter()
        .filter(|c| only.is_empty() || only.contains(&c.name()))
    {
        chapter.figures(&mut out)?;
    }
    diagrams::draw(&mut out, only)?;
    performance::draw(&mut out, only)?;
    if let Some(line) = out.skipped_long_runs() {
        println!("{line}");
    }
    if let Some(line) = out.skipped_without_data() {
        eprintln!("{line}");
    }
    for line in out.skipped_other() {
        eprintln!("{line}");
    }
    Ok(out.written().to_vec())
}

fn main() -> ExitCode {
    zerodl::alloc::keep_freed_memory();
    if let Err(e) = zerodl::kernels::par::join_global_pool() {
        eprintln!("warning: the main thread could not join the thread pool ({e}); results are the same, steps slower");
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    let only: Vec<&str> = args
        .iter()
        .filter_map(|a| a.strip_prefix("--chapter="))
        .collect();
    // `diagrams` draws the diagrams of every chapter and nothing else.
    let known: Vec<&str> = REGISTRY
        .iter()
        .map(|c| c.name())
        .chain(["diagrams", "performance"])
        .collect();
    if let Some(a) = args
        .iter()
        .find(|a| *a != "--full" && !a.starts_with("--chapter="))
    {
        eprintln!("figures: unknown argument {a:?} (the flags are --full and --chapter=NAME)");
        return ExitCode::from(2);
    }
    if let Some(n) = only.iter().find(|n| !known.contains(n)) {
        eprintln!(
            "figures: no chapter {n:?} (the chapters: {})",
            known.join(", ")
        );
        return ExitCode::from(2);
    }
    match run(Path::new("plots"), full, &only) {
        Ok(files) => {
            for f in &files {
                println!("wrote {}", f.display());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("figures: {e}");
            ExitCode::FAILURE
        }
    }
}
