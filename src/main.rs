//! The binary: parse, run, render, exit. The work happens in the library.

use std::process::ExitCode as ProcessExit;

use clap::Parser;
use ecr_fargate_preflight::audit::{self, AuditConfig};
use ecr_fargate_preflight::check::{self, CheckConfig};
use ecr_fargate_preflight::cli::{AuditArgs, Cli, Command, Format, MergeArgs};
use ecr_fargate_preflight::error::ExitCode;
use ecr_fargate_preflight::output::{self, Delivery};
use ecr_fargate_preflight::{action, catalog, console, deadline, github, merge, push};

fn main() -> ProcessExit {
    // The image's entrypoint is the binary: with no arguments inside GitHub
    // Actions it runs as the action.
    if std::env::args_os().len() <= 1 && github::in_actions() {
        return ProcessExit::from(run_action() as u8);
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return ProcessExit::from(clap_error(&e) as u8),
    };
    let code = match cli.command {
        Command::Rules(args) => {
            let text = if args.endpoints {
                ecr_fargate_preflight::network::endpoints::markdown_table()
            } else if args.requests {
                push::steps::markdown_table()
            } else if args.markdown {
                catalog::markdown_table()
            } else {
                catalog::all()
                    .map(|r| format!("{:<32} {:<8} {}\n", r.id, r.severity.as_str(), r.what))
                    .collect()
            };
            console::document(&text, false);
            ExitCode::Clean
        }
        Command::Check(args) => run_check(*args, None),
        Command::Audit(args) => run_audit(*args, None),
        Command::Merge(args) => run_merge(args, None),
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
        Command::Audit(args) => run_audit((**args).clone(), Some(&run)),
        Command::Merge(args) => run_merge(args.clone(), Some(&run)),
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
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let format = config.args.format;
    let output = config.args.output.clone();
    github::set_groups(format == Format::Text || output.is_some());
    let sarif = config.args.sarif.clone();
    let budget = config.args.timeout;
    let (report, code) = match runtime.block_on(within_budget(budget, check::run(config))) {
        Some(Ok(r)) => r,
        Some(Err(e)) => return usage(&e.to_string()),
        None => return out_of_time(budget),
    };
    after_interruption(output::deliver(
        &report,
        code,
        &Delivery {
            format,
            output,
            sarif,
            action,
        },
        &runtime,
    ))
}

fn run_audit(args: AuditArgs, action: Option<&action::ActionRun>) -> ExitCode {
    init_logging(args.verbose);
    let usage = |message: &str| match action {
        Some(_) => action_usage(&action::in_input_terms(message, "audit")),
        None => usage(message),
    };
    let delivery = Delivery {
        format: args.format,
        output: args.output.clone(),
        sarif: args.sarif.clone(),
        action,
    };
    github::set_groups(delivery.format == Format::Text || delivery.output.is_some());
    let budget = args.timeout;
    let config = match AuditConfig::from_args(args) {
        Ok(c) => c,
        Err(e) => return usage(&e.to_string()),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    match runtime.block_on(within_budget(budget, audit::run(config))) {
        Some(Ok((report, code))) => {
            after_interruption(output::deliver(&report, code, &delivery, &runtime))
        }
        Some(Err(e)) => usage(&e.to_string()),
        None => out_of_time(budget),
    }
}

fn run_merge(args: MergeArgs, action: Option<&action::ActionRun>) -> ExitCode {
    let reports = match merge::load(&args.inputs) {
        Ok(r) => r,
        Err(e) => {
            return match action {
                Some(_) => action_usage(&action::in_input_terms(&e.0, "merge")),
                None => usage(&e.0),
            };
        }
    };
    let report = merge::merge(reports.into_iter().map(|(_, r)| r).collect());
    let code = check::exit_code(&report, args.fail_on);
    // The pull-request comment is the only async work of a merge.
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    output::deliver(
        &report,
        code,
        &Delivery {
            format: args.format,
            output: args.output.clone(),
            sarif: args.sarif.clone(),
            action,
        },
        &runtime,
    )
}

/// Runs `work` under the run's deadline (`--timeout`): every remote call is
/// bounded by it, so `work` normally ends on its own and reports; the
/// deadline plus a grace period is the last resort, `None`.
///
/// SIGINT and SIGTERM (a cancelled job) end the run as the deadline does:
/// the phase under way stops, the probe cleans up, and the partial report
/// is written within the grace period.
async fn within_budget<T>(budget: std::time::Duration, work: impl Future<Output = T>) -> Option<T> {
    deadline::start(budget);
    tokio::spawn(interrupt_on_signal());
    tokio::time::timeout(budget + deadline::GRACE, work)
        .await
        .ok()
}

/// Waits for SIGINT or SIGTERM and interrupts the run. A second signal
/// finds the run already interrupted and changes nothing: the report is on
/// its way, bounded by the grace period.
async fn interrupt_on_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return;
        };
        let why = tokio::select! {
            _ = interrupt.recv() => "SIGINT",
            _ = terminate.recv() => "SIGTERM",
        };
        deadline::interrupt(why);
        // Keep the handlers installed: a second signal must not kill the
        // run before it has reported.
        loop {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        }
    }
    #[cfg(not(unix))]
    if tokio::signal::ctrl_c().await.is_ok() {
        deadline::interrupt("Ctrl-C");
    }
}

/// An interrupted run exits 3 after reporting, whatever it found: it could
/// not finish.
fn after_interruption(code: ExitCode) -> ExitCode {
    if deadline::interrupted().is_some() {
        ExitCode::CouldNotRun
    } else {
        code
    }
}

/// The run outlived its deadline and the grace period: exit 3.
fn out_of_time(budget: std::time::Duration) -> ExitCode {
    let message = format!(
        "the run did not finish within --timeout {} plus {} s of grace; nothing could be reported",
        humantime::format_duration(budget),
        deadline::GRACE.as_secs()
    );
    console::command(
        console::Command::Error,
        &[("title", "ecr-fargate-preflight".into())],
        &message,
    );
    console::err(&format!("error: {message}"));
    ExitCode::CouldNotRun
}

/// The async runtime the checks run on.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            console::err(&format!("error: cannot start the async runtime: {e}"));
            ExitCode::CouldNotRun
        })
}

/// A bad input of the action: an error annotation, and the message on stderr; exit 2.
fn action_usage(message: &str) -> ExitCode {
    console::command(
        console::Command::Error,
        &[("title", "ecr-fargate-preflight".into())],
        message,
    );
    usage(message)
}

fn usage(message: &str) -> ExitCode {
    console::err(&format!("error: {message}"));
    ExitCode::Usage
}

/// A command line clap could not parse, or `--help` / `--version`: clap's
/// text through the console (an error quotes the raw arguments), on the
/// stream and with the exit code clap would use (2 for errors, 0 for help).
fn clap_error(e: &clap::Error) -> ExitCode {
    let text = e.render().to_string();
    if e.use_stderr() {
        console::err(text.trim_end());
    } else {
        console::out(&text);
    }
    if e.exit_code() == 0 {
        ExitCode::Clean
    } else {
        ExitCode::Usage
    }
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
        .with_writer(console::LogWriter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .try_init();
}
