//! The performance page's figure: time per training example against batch size, zerodl against PyTorch, drawn
//! from the measurements committed in `bench/results/` (the bench binary's `--growth` lines and the PyTorch
//! script's, taken in one sitting; the page gives the commands). The figure is redrawn, never remeasured, by
//! `figures`: timings depend on the machine and the minute, and a figure must come out the same on every run.

use super::Figures;
use crate::error::{Error, Result};
use crate::plot::{line_panels, style::PALETTE, Panel, Series, YRange};
use std::collections::BTreeMap;
use std::path::Path;

/// The sitting's files: zerodl before PyTorch, PyTorch, zerodl after (the zerodl curve is the mean of its two).
const ZERODL: [&str; 2] = ["growth-zerodl-1.jsonl", "growth-zerodl-2.jsonl"];
const TORCH: &str = "growth-torch.jsonl";

/// The workloads drawn, in the page's order, with their panel titles.
const WORKLOADS: [(&str, &str); 5] = [
    ("mlp", "W1 mlp"),
    ("cnn", "W2 cnn"),
    ("cnnbn", "W3 cnnbn"),
    ("lstm", "W4 lstm"),
    ("bigru", "W5 bigru"),
];

/// Median milliseconds per step by (workload, batch), at `threads` threads, from one file of JSON lines.
fn medians(path: &Path, threads: u64) -> Result<BTreeMap<(String, u64), f64>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let bad = |line: usize, msg: String| Error::Format {
        path: path.display().to_string(),
        msg: format!("line {line}: {msg}"),
    };
    let mut out = BTreeMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value =
            serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?;
        // The PyTorch script also writes a line describing its environment.
        if v.get("kind").and_then(|k| k.as_str()) == Some("env") {
            continue;
        }
        let field = |name: &str| {
            v.get(name)
                .ok_or_else(|| bad(i + 1, format!("no {name:?}")))
        };
        let workload = field("workload")?.as_str().map(str::to_string);
        let (batch, t, ms) = (
            field("batch")?.as_u64(),
            field("threads")?.as_u64(),
            field("median_ms")?.as_f64(),
        );
        let (Some(workload), Some(batch), Some(t), Some(ms)) = (workload, batch, t, ms) else {
            return Err(bad(
                i + 1,
                "workload, batch, threads or median_ms of the wrong type".into(),
            ));
        };
        if t == threads {
            out.insert((workload, batch), ms);
        }
    }
    Ok(out)
}

/// `plots/perf_growth.svg`, when `only` asks for it (empty: everything; or `performance`).
pub fn draw(out: &mut Figures, only: &[&str]) -> Result<()> {
    if !(only.is_empty() || only.contains(&"performance")) {
        return Ok(());
    }
    let dir = Path::new("bench/results");
    let threads = 2;
    let runs = ZERODL
        .iter()
        .map(|f| medians(&dir.join(f), threads))
        .collect::<Result<Vec<_>>>()?;
    let torch = medians(&dir.join(TORCH), threads)?;
    let mut panels = Vec::new();
    for (workload, title) in WORKLOADS {
        let per_example = |m: &BTreeMap<(String, u64), f64>| -> Vec<(u64, f64)> {
            m.iter()
                .filter(|((w, _), _)| w == workload)
                .map(|((_, b), &ms)| (*b, ms / *b as f64))
                .collect()
        };
        let (first, second) = (per_example(&runs[0]), per_example(&runs[1]));
        if first.iter().map(|p| p.0).ne(second.iter().map(|p| p.0)) {
            return Err(Error::Format {
                path: dir.display().to_string(),
                msg: format!("the two zerodl runs measured different batches of {workload}"),
            });
        }
        let zerodl: Vec<(f64, f64)> = first
            .iter()
            .zip(&second)
            .map(|(a, b)| (a.0 as f64, (a.1 + b.1) / 2.0))
            .collect();
        let pytorch: Vec<(f64, f64)> = per_example(&torch)
            .into_iter()
            .map(|(b, ms)| (b as f64, ms))
            .collect();
        let top = zerodl
            .iter()
            .chain(&pytorch)
            .map(|p| p.1)
            .fold(0.0, f64::max);
        panels.push(Panel {
            title,
            x_desc: "batch size",
            y_desc: "ms per example",
            series: vec![
                Series::new("zerodl", PALETTE[0], false, zerodl),
                Series::new("PyTorch", PALETTE[1], true, pytorch),
            ],
            // From zero, so that the gap between the lines reads as the ratio it is.
            y_range: YRange::Fixed(0.0, top * 1.08),
        });
    }
    line_panels(&out.file("perf_growth.svg"), &panels)
}
