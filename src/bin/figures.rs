//! `cargo run --release --bin figures`: regenerate every figure of the book into `plots/`, from fixed seeds.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zerodl::chapters::ch1;
use zerodl::plot;

fn run(out: &Path) -> zerodl::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(out).map_err(|e| zerodl::Error::io(out, e))?;
    let mut written = Vec::new();
    let mut file = |name: &str| {
        let p = out.join(name);
        written.push(p.clone());
        p
    };

    let r = ch1::run(&ch1::Settings::default())?;
    plot::ch1::scatter_3d(&r, false, &file("ch1_true_plane.svg"))?;
    plot::ch1::scatter_3d(&r, true, &file("ch1_learned_plane.svg"))?;
    plot::ch1::edge_on(&r, &file("ch1_edge_on.svg"))?;
    println!(
        "ch1: perceptron, {} updates in {} scans, accuracy {:.1}%, Novikoff bound {:.3e}",
        r.trained.updates,
        r.trained.scans,
        100.0 * r.accuracy,
        r.bound
    );
    Ok(written)
}

fn main() -> ExitCode {
    let out = PathBuf::from("plots");
    match run(&out) {
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
