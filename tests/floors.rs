//! The floors of the crate, checked on the source: plotting draws plain data and knows nothing above it.

use std::fs;
use std::path::Path;

#[test]
fn plot_imports_nothing_above_its_floor() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/plot");
    let above = [
        "crate::chapters",
        "crate::train",
        "crate::nn",
        "crate::autograd",
        "crate::by_hand",
        "crate::optim",
        "crate::data",
    ];
    let mut problems = Vec::new();
    for entry in fs::read_dir(&dir).expect("src/plot") {
        let path = entry.unwrap().path();
        let text = fs::read_to_string(&path).unwrap();
        for name in above {
            if text.contains(name) {
                problems.push(format!("{}: uses {name}", path.display()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
