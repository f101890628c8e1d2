//! Ctrl-C as a request, not a kill: the first press sets a flag that long work checks at safe points (a
//! training loop between steps, a download between reads) so it can stop cleanly, save, and remove what is
//! half-written; a second press exits at once. The binaries install the handler; the library only reads the flag.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

/// The process's flag (false until Ctrl-C, when the handler is installed).
pub fn flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
        .clone()
}

/// Whether Ctrl-C was pressed.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

fn partial_files() -> &'static Mutex<Vec<PathBuf>> {
    static FILES: OnceLock<Mutex<Vec<PathBuf>>> = OnceLock::new();
    FILES.get_or_init(|| Mutex::new(Vec::new()))
}

/// A half-written file that Ctrl-C removes. A download blocked in a read cannot reach a safe point soon
/// (a stalled server answers only when the read times out), and it has nothing worth saving, so while such a
/// file is registered the first Ctrl-C removes it and exits. Dropping the guard unregisters the file.
pub struct RemoveOnInterrupt(PathBuf);

impl RemoveOnInterrupt {
    pub fn new(path: PathBuf) -> Self {
        partial_files()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(path.clone());
        RemoveOnInterrupt(path)
    }
}

impl Drop for RemoveOnInterrupt {
    fn drop(&mut self) {
        let mut files = partial_files().lock().unwrap_or_else(|e| e.into_inner());
        files.retain(|p| p != &self.0);
    }
}

/// Route Ctrl-C to [`flag`]; a second Ctrl-C exits with status 130. Without signal support (a sandbox), Ctrl-C
/// kills the process as it always did.
pub fn install_handler() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let f = flag();
        let _ = ctrlc::set_handler(move || {
            let files = partial_files()
                .lock()
                .map(|f| f.clone())
                .unwrap_or_default();
            if !files.is_empty() {
                for p in &files {
                    let _ = std::fs::remove_file(p);
                }
                eprintln!(
                    "\nzerodl: stopped by Ctrl-C; removed the partial download {}",
                    files
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                std::process::exit(130);
            }
            if f.swap(true, Ordering::SeqCst) {
                eprintln!("\nzerodl: stopped at once (second Ctrl-C)");
                std::process::exit(130);
            }
            eprintln!("\nzerodl: stopping at the next safe point (Ctrl-C again to quit at once)");
        });
    });
}
