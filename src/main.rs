//! `zerodl`: run the book's experiments and fetch data.
//!
//! `zerodl run ch2` runs an experiment with the book's settings (flags change them), shows a progress bar on
//! standard error, and ends by printing one JSON line of the final metrics on standard output. The chapters
//! and their flags come from [`zerodl::chapters::REGISTRY`].

use clap::{value_parser, Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use zerodl::chapters::{self, Chapter, REGISTRY};
use zerodl::data::download;
use zerodl::train::{Checkpoint, Control, Progress};
use zerodl::Error;

/// Flags of `zerodl run` itself (not of a chapter): they are not part of a run's settings, so a checkpoint
/// does not record them and `--resume` does not compare them.
const RUN_FLAGS: [&str; 5] = ["quiet", "save", "save-every", "resume", "detect-anomaly"];
/// Checkpoints every this many steps by default: a few seconds of work for the MNIST chapters between
/// saves, so an interruption loses little and saving costs little.
const DEFAULT_SAVE_EVERY: &str = "500";

// Why: see `zerodl::alloc`.
#[global_allocator]
static ALLOC: zerodl::alloc::MiMalloc = zerodl::alloc::MiMalloc;

#[derive(Args)]
struct DataArgs {
    #[arg(value_enum)]
    dataset: Dataset,
    /// Where to fetch from (a mirror of the original files).
    #[arg(long, default_value = download::MNIST_BASE_URL)]
    base_url: String,
}

#[derive(Clone, Copy, ValueEnum)]
enum Dataset {
    Mnist,
}

fn cli() -> Command {
    let chapters = REGISTRY
        .iter()
        .map(|c| run_flags(c.flags(Command::new(c.name()).about(c.about()))));
    let list: String = REGISTRY
        .iter()
        .map(|c| format!("  {}  {}\n", c.name(), c.about()))
        .collect();
    Command::new("zerodl")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Deep learning from zero: the book's experiments in Rust")
        .after_help(format!(
            "Chapters (`zerodl run <chapter> --help` lists a chapter's flags):\n{list}"
        ))
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(
            Command::new("run")
                .about("Run one chapter's experiment and print its final metrics as one JSON line.")
                .subcommand_value_name("CHAPTER")
                .subcommand_help_heading("Chapters")
                .subcommand_required(true)
                .arg_required_else_help(true)
                .subcommands(chapters),
        )
        .subcommand(
            Command::new("eval")
                .about("Evaluate a saved model on its chapter's test data; prints the run's JSON fields.")
                .arg(Arg::new("dir").required(true).value_parser(value_parser!(PathBuf)).help("Checkpoint folder (from --save)")),
        )
        .subcommand(
            Command::new("predict")
                .about("Ask a saved MNIST model (ch2 to ch6) about a PNG of a digit; prints the class probabilities.")
                .arg(Arg::new("dir").required(true).value_parser(value_parser!(PathBuf)).help("Checkpoint folder (from --save)"))
                .arg(Arg::new("input").required(true).value_parser(value_parser!(PathBuf)).help("A PNG of one digit: any size, grey or colour, dark on light or light on dark")),
        )
        .subcommand(DataArgs::augment_args(Command::new("data").about(
            "Download a dataset into the data root ($ZERODL_DATA, default data/).",
        )))
}

/// For a flag given to a chapter that does not take it: which chapters do, so that the message says where it
/// belongs rather than only that it does not belong here.
fn other_chapters_flag(e: &clap::Error) -> Option<String> {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    if e.kind() != ErrorKind::UnknownArgument {
        return None;
    }
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return None;
    };
    let long = arg.trim_start_matches('-').split('=').next()?.to_string();
    let cmd = cli();
    let takers: Vec<&str> = cmd
        .find_subcommand("run")?
        .get_subcommands()
        .filter(|c| {
            c.get_arguments()
                .any(|a| a.get_long() == Some(long.as_str()))
        })
        .map(|c| c.get_name())
        .collect();
    let list = takers.join(", ");
    Some(if takers.is_empty() {
        format!(
            "no experiment takes --{long} (`zerodl run <chapter> --help` lists a chapter's flags)"
        )
    } else {
        format!("--{long} is a flag of {list} only: it has no effect on this experiment, so it is refused")
    })
}

/// The flags every chapter's run takes besides its own.
fn run_flags(cmd: Command) -> Command {
    let every = "Save every this many steps (with --save)";
    // `--lr -1` reaches the flag's own check ("expected a positive finite number") instead of clap's
    // "unexpected argument '-1'" with a tip that does not work.
    cmd.allow_negative_numbers(true)
        .arg(
        Arg::new("quiet")
            .long("quiet")
            .action(ArgAction::SetTrue)
            .help("No progress bar"),
    )
    .arg(
        Arg::new("save")
            .long("save")
            .value_name("DIR")
            .value_parser(value_parser!(PathBuf))
            .help("Keep a checkpoint of the run in DIR: at the end, every --save-every steps, and on Ctrl-C"),
    )
    .arg(
        Arg::new("save-every")
            .long("save-every")
            .value_name("STEPS")
            .value_parser(|s: &str| zerodl::chapters::flags::count(s))
            .default_value(DEFAULT_SAVE_EVERY)
            .help(every),
    )
    .arg(
        Arg::new("detect-anomaly")
            .long("detect-anomaly")
            .action(ArgAction::SetTrue)
            .help("Check every op's output and gradient: a NaN or infinity stops the run naming the op that made it (slower)"),
    )
    .arg(
        Arg::new("resume")
            .long("resume")
            .value_name("DIR")
            .value_parser(value_parser!(PathBuf))
            .help("Continue the run saved in DIR exactly where it stopped (with its own flags; saves back to DIR)"),
    )
}

/// The chapter's own flags from the command line (everything after `run <chapter>` but the run flags).
fn chapter_args(raw: &[String], chapter: &str) -> Vec<String> {
    let start = raw
        .windows(2)
        .position(|w| w[0] == "run" && w[1] == chapter)
        .map_or(raw.len(), |i| i + 2);
    let mut out = Vec::new();
    let mut rest = raw[start..].iter();
    while let Some(a) = rest.next() {
        let name = a.trim_start_matches("--");
        let (name, inline) = name
            .split_once('=')
            .map_or((name, false), |(n, _)| (n, true));
        if a.starts_with("--") && RUN_FLAGS.contains(&name) {
            if !inline && !matches!(name, "quiet" | "detect-anomaly") {
                rest.next();
            }
            continue;
        }
        out.push(a.clone());
    }
    out
}

/// A chapter's flags parsed from saved arguments.
fn chapter_matches(chapter: &dyn Chapter, args: &[String]) -> zerodl::Result<ArgMatches> {
    run_flags(chapter.flags(Command::new(chapter.name())))
        .try_get_matches_from(
            std::iter::once(chapter.name().to_string()).chain(args.iter().cloned()),
        )
        .map_err(|e| Error::Config(format!("the saved flags {args:?} do not parse: {e}")))
}

/// A checkpoint and the chapter and flags it was saved with.
fn saved_run(
    dir: &std::path::Path,
) -> zerodl::Result<(Checkpoint, &'static dyn Chapter, Vec<String>)> {
    let c = Checkpoint::load(dir)?;
    let name = c.meta.get("zerodl.chapter").cloned().unwrap_or_default();
    let chapter = chapters::find(&name).ok_or_else(|| Error::Format {
        path: dir.display().to_string(),
        msg: format!("saved by chapter {name:?}, which this zerodl does not have"),
    })?;
    let args: Vec<String> = match c.meta_json("zerodl.args")? {
        serde_json::Value::Array(v) => v
            .iter()
            .filter_map(|a| a.as_str().map(String::from))
            .collect(),
        other => {
            return Err(Error::Format {
                path: dir.display().to_string(),
                msg: format!("zerodl.args is not a list of flags: {other}"),
            })
        }
    };
    Ok((c, chapter, args))
}

/// Set by the first Ctrl-C: runs stop at the next step boundary (saving first). A second Ctrl-C exits at once.
fn interrupt_flag() -> Arc<AtomicBool> {
    zerodl::interrupt::install_handler();
    zerodl::interrupt::flag()
}

fn bar(quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let b = ProgressBar::new(0);
    b.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {pos}/{len} steps  epoch {msg}")
            .expect("static template")
            .progress_chars("=> "),
    );
    b
}

fn progress_fn(b: &ProgressBar) -> impl FnMut(&Progress) + '_ {
    move |p: &Progress| {
        b.set_length(p.total_steps as u64);
        b.set_position(p.step as u64);
        if p.step % 10 == 0 || p.step == p.total_steps {
            b.set_message(format!("{}  loss {:.4}", p.epoch + 1, p.loss));
        }
    }
}

fn run(name: &str, flags: &ArgMatches, raw: &[String]) -> zerodl::Result<serde_json::Value> {
    let chapter = chapters::find(name).expect("clap only accepts the registry's chapters");
    let save = flags.get_one::<PathBuf>("save").cloned();
    let resume = flags.get_one::<PathBuf>("resume").cloned();
    let anomaly = flags.get_flag("detect-anomaly");
    if (save.is_some() || resume.is_some() || anomaly) && !chapter.checkpoints() {
        let takers: Vec<&str> = REGISTRY
            .iter()
            .filter(|c| c.checkpoints())
            .map(|c| c.name())
            .collect();
        return Err(Error::Config(format!(
            "--save, --resume and --detect-anomaly work for {}; {name} takes none of them",
            takers.join(", ")
        )));
    }
    let own = chapter_args(raw, name);
    let (matches, args, checkpoint) = match &resume {
        Some(dir) => {
            let (c, saved, args) = saved_run(dir)?;
            if saved.name() != name {
                return Err(Error::Config(format!(
                    "{} holds a {} run, not {name}: resume it with `zerodl run {} --resume {}`",
                    dir.display(),
                    saved.name(),
                    saved.name(),
                    dir.display()
                )));
            }
            if !own.is_empty() && own != args {
                return Err(Error::Config(format!(
                    "--resume continues the saved run with its own flags {args:?}; drop {own:?}, or start a new run without --resume"
                )));
            }
            (chapter_matches(chapter, &args)?, args, Some(Arc::new(c)))
        }
        None => (flags.clone(), own, None),
    };
    let meta = [
        ("zerodl.chapter".to_string(), name.to_string()),
        (
            "zerodl.args".to_string(),
            serde_json::json!(args).to_string(),
        ),
        (
            "zerodl.version".to_string(),
            env!("CARGO_PKG_VERSION").to_string(),
        ),
    ];
    let control = Control {
        save: save.or(resume),
        save_every: *flags.get_one::<usize>("save-every").expect("has a default"),
        resume: checkpoint,
        interrupt: Some(interrupt_flag()),
        eval_only: false,
        anomaly,
        meta: meta.into_iter().collect(),
    };
    let b = bar(flags.get_flag("quiet"));
    let value = chapter.run(&matches, &mut progress_fn(&b), &control);
    b.finish_and_clear();
    match (value, &control.save) {
        (Err(Error::Interrupted { step, .. }), Some(dir)) => Err(Error::Interrupted {
            step,
            note: format!(
                "; the checkpoint in {} holds the run: continue it with `zerodl run {name} --resume {}`",
                dir.display(),
                dir.display()
            ),
        }),
        (Err(Error::Interrupted { step, .. }), None) => Err(Error::Interrupted {
            step,
            note: " (nothing was saved: run with --save DIR to keep a run's progress)".into(),
        }),
        (v, _) => v,
    }
}

fn eval(dir: &std::path::Path) -> zerodl::Result<serde_json::Value> {
    let (c, chapter, args) = saved_run(dir)?;
    let matches = chapter_matches(chapter, &args)?;
    let control = Control {
        resume: Some(Arc::new(c)),
        eval_only: true,
        ..Control::default()
    };
    chapter.run(&matches, &mut |_| {}, &control)
}

fn predict(dir: &std::path::Path, input: &std::path::Path) -> zerodl::Result<serde_json::Value> {
    let (c, chapter, args) = saved_run(dir)?;
    let matches = chapter_matches(chapter, &args)?;
    chapter.predict(&matches, &c, input)
}

fn data(args: DataArgs) -> zerodl::Result<()> {
    zerodl::interrupt::install_handler();
    let Dataset::Mnist = args.dataset;
    let dir = zerodl::data::data_root().join("mnist");
    for f in download::fetch(&args.base_url, &dir, &download::MNIST, true)? {
        match f {
            download::Fetched::Downloaded(p) => eprintln!("downloaded {}", p.display()),
            download::Fetched::AlreadyThere(p) => {
                eprintln!("already there, checksum verified: {}", p.display())
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    zerodl::alloc::keep_freed_memory();
    if let Err(e) = zerodl::kernels::par::join_global_pool() {
        eprintln!("warning: the main thread could not join the thread pool ({e}); results are the same, steps slower");
    }
    let raw: Vec<String> = std::env::args().collect();
    let matches = cli().try_get_matches().unwrap_or_else(|e| {
        if let Some(hint) = other_chapters_flag(&e) {
            eprintln!("{}\n{hint}", e.render().to_string().trim_end());
            std::process::exit(2);
        }
        e.exit()
    });
    let result = match matches.subcommand() {
        Some(("run", m)) => {
            let (name, flags) = m.subcommand().expect("a chapter is required");
            run(name, flags, &raw).map(|v| println!("{v}"))
        }
        Some(("eval", m)) => {
            eval(m.get_one::<PathBuf>("dir").expect("required")).map(|v| println!("{v}"))
        }
        Some(("predict", m)) => predict(
            m.get_one::<PathBuf>("dir").expect("required"),
            m.get_one::<PathBuf>("input").expect("required"),
        )
        .map(|v| println!("{v}")),
        Some(("data", m)) => match DataArgs::from_arg_matches(m) {
            Ok(args) => data(args),
            Err(e) => e.exit(),
        },
        _ => unreachable!("clap requires a subcommand"),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("zerodl: {e}");
            // 130 = 128 + SIGINT, what a shell reports for a program stopped by Ctrl-C.
            if zerodl::interrupt::requested() {
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::cli;

    fn parses(args: &str) -> Result<(), String> {
        cli()
            .try_get_matches_from(std::iter::once("zerodl").chain(args.split_whitespace()))
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn the_command_line_is_consistent() {
        cli().debug_assert();
    }

    #[test]
    fn the_documented_commands_parse() {
        for args in [
            "run ch1 --lr 0.5 --seed 3 --quiet",
            "run ch2 --steps-per-batch 1 --epochs 50",
            "run ch3 --l2 1e-4",
            "run ch3 --book-setup",
            "run ch3 --book-setup --l2 1e-4",
            "run ch3 --init book",
            "run ch5 --init xavier",
            "run ch6 --init he",
            "run ch7 --save runs/ch7 --save-every 100 --detect-anomaly",
            "run ch7 --resume runs/ch7",
            "eval runs/ch7",
            "predict runs/ch5 digit.png",
            "run ch3 --optimizer momentum --lr 0.01",
            "run ch4",
            "run ch5 --optimizer rmsprop",
            "run ch5 --optimizer sgd --lr 0.1",
            "run ch6 --batch 64",
            "run ch7 --bidirectional --merge book",
            "run ch7 --no-clip --decay 1",
            "data mnist",
        ] {
            assert_eq!(parses(args), Ok(()), "{args}");
        }
    }

    #[test]
    fn a_flag_of_another_chapter_is_refused() {
        for args in [
            "run ch5 --steps-per-batch 2",
            "run ch2 --l2 1e-4",
            "run ch1 --batch 10",
            "run ch7 --optimizer adam",
            "run ch3 --hidden 10",
            "run ch2 --init he",
            "run ch7 --init book",
        ] {
            assert!(parses(args).is_err(), "{args}");
        }
    }

    /// Every flag of every chapter that takes a value refuses what no setting can be, naming the flag.
    #[test]
    fn every_flag_refuses_a_value_that_cannot_be_a_setting() {
        let cmd = cli();
        let run = cmd.find_subcommand("run").unwrap();
        let mut checked = 0;
        for chapter in run.get_subcommands() {
            for arg in chapter.get_arguments() {
                let takes_value = arg.get_action().takes_values();
                let is_path = matches!(arg.get_id().as_str(), "save" | "resume");
                let Some(long) = arg.get_long().filter(|_| takes_value && !is_path) else {
                    continue;
                };
                for bad in ["nan", "inf", "abc", "", "1e999"] {
                    let args = format!("run {} --{long}={bad}", chapter.get_name());
                    let e = cli()
                        .try_get_matches_from([
                            "zerodl",
                            "run",
                            chapter.get_name(),
                            &format!("--{long}={bad}"),
                        ])
                        .map(|_| ())
                        .expect_err(&args);
                    assert!(e.to_string().contains(&format!("--{long}")), "{args}: {e}");
                }
                checked += 1;
            }
        }
        assert!(checked > 40, "only {checked} flags checked");
    }

    #[test]
    fn a_value_out_of_range_names_its_flag() {
        for (args, flag) in [
            ("run ch2 --lr 0", "--lr"),
            ("run ch2 --lr nan", "--lr"),
            ("run ch3 --batch 0", "--batch"),
            ("run ch5 --epochs 0", "--epochs"),
            ("run ch3 --l2=-1", "--l2"),
            ("run ch7 --decay 2", "--decay"),
        ] {
            let e = parses(args).expect_err(args);
            assert!(e.contains(flag), "{args}: {e}");
        }
    }
}
