//! The binary: parse, run, render, exit. The work happens in the library.

use std::io::Write;

use secrecy::ExposeSecret;
use std::process::ExitCode as ProcessExit;

use clap::Parser;
use ecr_fargate_preflight::check::{self, CheckConfig};
use ecr_fargate_preflight::cli::{Cli, Command, Format};
use ecr_fargate_preflight::error::ExitCode;
use ecr_fargate_preflight::{action, github, push, report, rules};

fn main() -> ProcessExit {
    // The image's entrypoint is the binary: with no arguments inside GitHub
    // Actions it runs as the action.
    if std::env::args_os().len() <= 1 && github::in_actions() {
        return ProcessExit::from(run_action() as u8);
    }
    let cli = Cli::parse();
    let code = match cli.command {
        Command::Rules(args) => {
            if args.endpoints {
                print!(
                    "{}",
                    ecr_fargate_preflight::network::endpoints::markdown_table()
                );
            } else if args.requests {
                print!("{}", push::steps::markdown_table());
            } else if args.markdown {
                print!("{}", rules::markdown_table());
            } else {
                for r in rules::all() {
                    println!("{:<32} {:<8} {}", r.id, r.severity.as_str(), r.what);
                }
            }
            ExitCode::Clean
        }
        Command::Check(args) => run_check(*args, None),
        Command::Action => run_action(),
    };
    ProcessExit::from(code as u8)
}

/// Runs as the GitHub Action: the inputs become a command line, parsed by
/// the same declarations as a typed one.
fn run_action() -> ExitCode {
    let run = match action::from_env(&|name| std::env::var(name).ok()) {
        Ok(run) => run,
        Err(e) => return action_usage(&e.0),
    };
    github::Group::start("Inputs").line(&run.argv[1..].join(" "));
    match &run.cli.command {
        Command::Check(args) => run_check((**args).clone(), Some(&run)),
        _ => usage("the `command` input names no action command"),
    }
}

fn run_check(
    args: ecr_fargate_preflight::cli::CheckArgs,
    action: Option<&action::ActionRun>,
) -> ExitCode {
    init_logging(args.verbose);
    // In the action, a usage error names the input, as an annotation.
    let usage = |message: &str| match action {
        Some(_) => action_usage(&action::in_input_terms(message, "check")),
        None => usage(message),
    };
    let config = match CheckConfig::from_args(args) {
        Ok(c) => c,
        Err(e) => return usage(&e.to_string()),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::CouldNotRun;
        }
    };
    let format = config.args.format;
    let output = config.args.output.clone();
    let sarif = config.args.sarif.clone();
    let (report, code) = match runtime.block_on(check::run(config)) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    deliver(
        &report,
        code,
        &Delivery {
            format,
            output,
            sarif,
            action,
        },
        &runtime,
    )
}

/// Where a finished report goes besides stdout.
struct Delivery<'a> {
    /// `--format`.
    format: Format,
    /// `--output`.
    output: Option<std::path::PathBuf>,
    /// `--sarif`.
    sarif: Option<std::path::PathBuf>,
    /// The action's run, when running as the action.
    action: Option<&'a action::ActionRun>,
}

/// Renders and writes the report everywhere it goes: stdout, `--output`,
/// and as the action the JSON report file and the pull-request comment;
/// under GitHub Actions the annotations, summary and outputs. A file that
/// cannot be written makes the exit code 2 but stops nothing else.
fn deliver(
    report: &report::Report,
    mut code: ExitCode,
    delivery: &Delivery<'_>,
    runtime: &tokio::runtime::Runtime,
) -> ExitCode {
    let color = anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    let rendered = match delivery.format {
        Format::Text => report::render_text(report, color),
        Format::Json => report::render_json(report),
        Format::Markdown => report::render_markdown(report),
    };
    let mut sarif_written = None;
    if let Some(path) = &delivery.sarif {
        match report::sarif::write_sarif_for_run(path, report, code) {
            Ok(()) => sarif_written = Some(path.display().to_string()),
            Err(e) => {
                eprintln!("error: cannot write --sarif {}: {e}", path.display());
                code = ExitCode::Usage;
            }
        }
    }
    let in_actions = github::in_actions();
    let mut written = None;
    let mut json_report = None;
    if let Some(run) = delivery.action {
        match std::fs::write(&run.report_file, report::render_json(report)) {
            Ok(()) => json_report = Some(run.report_file.clone()),
            Err(e) => {
                eprintln!(
                    "error: cannot write the JSON report to {}: {e}",
                    run.report_file.display()
                );
                code = ExitCode::Usage;
            }
        }
    }
    match &delivery.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &rendered) {
                eprintln!("error: cannot write --output {}: {e}", path.display());
                code = ExitCode::Usage;
            } else {
                written = Some(path.clone());
            }
            print_report(&report::render_text(report, color), in_actions);
        }
        None if delivery.format == Format::Text => print_report(&rendered, in_actions),
        None => {
            let _ = anstream::stdout().write_all(rendered.as_bytes());
        }
    }
    let mut extra: Vec<(&'static str, String)> = sarif_written
        .map(|path| ("sarif-file", path))
        .into_iter()
        .collect();
    if let Some(run) = delivery.action
        && in_actions
        && run.comment != github::comment::CommentMode::Never
    {
        let _group = github::Group::start("Pull-request comment");
        match &run.github_token {
            None => println!(
                "::notice title=ecr-fargate-preflight::No pull-request comment: the github-token input is empty. The findings are in the job summary and the annotations."
            ),
            Some(token) => {
                let outcome = runtime.block_on(github::comment::upsert_from_env(
                    report,
                    token.expose_secret(),
                    Some(&run.comment_key),
                    run.comment,
                ));
                if let Some(command) = outcome.workflow_command() {
                    println!("{command}");
                }
                if let Some(url) = outcome.url() {
                    println!("{url}");
                    extra.push(("comment-url", url.to_string()));
                }
            }
        }
    }
    if in_actions {
        let report_path = json_report.or_else(|| {
            (delivery.format == Format::Json)
                .then_some(written)
                .flatten()
        });
        github::publish::publish(report, report_path.as_deref(), &extra);
    }
    code
}

/// Prints the text report, inside a collapsible group under GitHub Actions.
fn print_report(text: &str, in_actions: bool) {
    let title = "ecr-fargate-preflight report";
    let _ = if in_actions {
        github::publish::print_grouped(&mut anstream::stdout(), title, text)
    } else {
        anstream::stdout().write_all(text.as_bytes())
    };
}

/// A bad input of the action: an error annotation, and the message on stderr; exit 2.
fn action_usage(message: &str) -> ExitCode {
    if github::in_actions() {
        println!(
            "::error title=ecr-fargate-preflight::{}",
            github::annotations::escape_data(message)
        );
    }
    usage(message)
}

fn usage(message: &str) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::Usage
}

/// Logs go to stderr. The filter is fixed, not read from RUST_LOG: the SDK's
/// signing and HTTP layers log credentials and headers at debug level, so
/// they stay at warn whatever the user asks for.
fn init_logging(verbose: bool) {
    let level = if verbose { "debug" } else { "warn" };
    let filter = tracing_subscriber::EnvFilter::new(format!(
        "warn,ecr_fargate_preflight={level},aws_sigv4=off,aws_smithy_runtime=warn,aws_smithy_runtime_api=warn,hyper=warn,reqwest=warn,h2=warn"
    ));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
