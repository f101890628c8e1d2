//! `zerodl`: run the book's experiments and fetch data.
//!
//! `zerodl run ch2` runs an experiment with the book's settings (flags change them), shows a progress bar on
//! standard error, and ends by printing one JSON line of the final metrics on standard output. The chapters
//! and their flags come from [`zerodl::chapters::REGISTRY`].

use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::process::ExitCode;
use zerodl::chapters::{self, REGISTRY};
use zerodl::data::download;
use zerodl::train::Progress;

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
    let chapters = REGISTRY.iter().map(|c| {
        c.flags(Command::new(c.name()).about(c.about())).arg(
            Arg::new("quiet")
                .long("quiet")
                .action(ArgAction::SetTrue)
                .help("No progress bar"),
        )
    });
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
        .subcommand(DataArgs::augment_args(Command::new("data").about(
            "Download a dataset into the data root ($ZERODL_DATA, default data/).",
        )))
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

fn run(name: &str, flags: &ArgMatches) -> zerodl::Result<serde_json::Value> {
    let chapter = chapters::find(name).expect("clap only accepts the registry's chapters");
    let b = bar(flags.get_flag("quiet"));
    let value = chapter.run(flags, &mut progress_fn(&b))?;
    b.finish_and_clear();
    Ok(value)
}

fn data(args: DataArgs) -> zerodl::Result<()> {
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
    let matches = cli().get_matches();
    let result = match matches.subcommand() {
        Some(("run", m)) => {
            let (name, flags) = m.subcommand().expect("a chapter is required");
            run(name, flags).map(|v| println!("{v}"))
        }
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
            ExitCode::FAILURE
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
        ] {
            assert!(parses(args).is_err(), "{args}");
        }
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
