//! The binary: parse, run, render, exit. The work happens in the library.

use std::process::ExitCode as ProcessExit;
use std::time::Duration;

use clap::Parser;
use ecr_fargate_preflight::audit::{self, AuditConfig};
use ecr_fargate_preflight::check::{self, CheckConfig};
use ecr_fargate_preflight::cli::{Cli, Command, FailOn, Format, OutputArgs};
use ecr_fargate_preflight::config::{self, suppress::Date};
use ecr_fargate_preflight::error::ExitCode;
use ecr_fargate_preflight::output::{self, Delivery};
use ecr_fargate_preflight::report::Report;
use ecr_fargate_preflight::{action, catalog, console, deadline, github, merge, push};

fn main() -> ProcessExit {
    // The image's entrypoint is the binary: with no arguments inside GitHub
    // Actions it runs as the action.
    if std::env::args_os().len() <= 1 && github::in_actions() {
        return ProcessExit::from(run_action() as u8);
    }
    // The configuration file's options go in front of the typed ones.
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let applied = match config::apply(argv, &|name| std::env::var(name).ok(), false) {
        Ok(applied) => applied,
        Err(e) => return ProcessExit::from(usage(&e.0) as u8),
    };
    let cli = match Cli::try_parse_from(&applied.argv) {
        Ok(cli) => cli,
        Err(e) => return ProcessExit::from(clap_error(&e) as u8),
    };
    let code = match cli.command {
        Command::Rules(args) => {
            let text = if let Some(id) = &args.id {
                match catalog::by_id(id) {
                    Some(rule) => catalog::pages::page(rule),
                    None => {
                        let close: Vec<&str> = catalog::all()
                            .map(|r| r.id)
                            .filter(|r| r.contains(id.as_str()))
                            .take(8)
                            .collect();
                        let hint = if close.is_empty() {
                            String::new()
                        } else {
                            format!("; similar: {}", close.join(", "))
                        };
                        return ProcessExit::from(usage(&format!(
                            "no rule is called `{id}` (`ecr-fargate-preflight rules` lists them){hint}"
                        )) as u8);
                    }
                }
            } else if args.endpoints {
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
        Command::Generate(args) => match args.what.render() {
            Ok(bytes) => {
                console::document(&String::from_utf8_lossy(&bytes), false);
                ExitCode::Clean
            }
            Err(e) => {
                console::err(&format!("error: cannot generate {:?}: {e}", args.what));
                ExitCode::CouldNotRun
            }
        },
        Command::Check(_) | Command::Audit(_) | Command::Merge(_) => {
            run(cli.command, None, applied.config.as_ref())
        }
        Command::Action => run_action(),
    };
    ProcessExit::from(code as u8)
}

/// Runs as the GitHub Action: the inputs become a command line, parsed by
/// the same declarations as a typed one.
fn run_action() -> ExitCode {
    let action_run = match action::from_env(&|name| std::env::var(name).ok()) {
        Ok(run) => run,
        Err(e) => return action_usage(&e.0),
    };
    github::Group::start("Inputs").line(&action_run.argv[1..].join(" "));
    run(
        action_run.cli.command.clone(),
        Some(&action_run),
        action_run.config.as_ref(),
    )
}

/// What a command runs once its options are valid.
enum Job {
    Check(Box<CheckConfig>),
    Audit(Box<AuditConfig>),
    /// `merge` has its report as soon as its inputs are read.
    Merged(Box<Report>, ExitCode),
}

/// Runs `check`, `audit` or `merge`: validate the options (a usage error
/// names the action's input when run as the action), run the command under
/// its `--timeout`, and hand the report to the one delivery.
fn run(
    command: Command,
    action: Option<&action::ActionRun>,
    file: Option<&config::Loaded>,
) -> ExitCode {
    let name = match &command {
        Command::Check(_) => "check",
        Command::Audit(_) => "audit",
        Command::Merge(_) => "merge",
        Command::Rules(_) | Command::Action | Command::Generate(_) => {
            return usage("the `command` input names no action command");
        }
    };
    // In the action, a usage error names the input, as an annotation.
    let usage = |message: &str| match action {
        Some(_) => action_usage(&action::in_input_terms(message, name)),
        None => usage(message),
    };
    let delivery = |report: &OutputArgs| Delivery {
        format: report.format,
        output: report.output.clone(),
        sarif: report.sarif.clone(),
        action,
    };
    let fail_on = match &command {
        Command::Check(args) => args.report.fail_on,
        Command::Audit(args) => args.report.fail_on,
        Command::Merge(args) => args.report.fail_on,
        Command::Rules(_) | Command::Action | Command::Generate(_) => FailOn::Never,
    };
    let (job, delivery, budget) = match command {
        Command::Check(args) => {
            init_logging(args.run.verbose);
            let (delivery, budget) = (delivery(&args.report), args.run.timeout);
            match CheckConfig::from_args(*args) {
                Ok(c) => (Job::Check(Box::new(c)), delivery, budget),
                Err(e) => return usage(&e.to_string()),
            }
        }
        Command::Audit(args) => {
            init_logging(args.run.verbose);
            let (delivery, budget) = (delivery(&args.report), args.run.timeout);
            match AuditConfig::from_args(*args) {
                Ok(c) => (Job::Audit(Box::new(c)), delivery, budget),
                Err(e) => return usage(&e.to_string()),
            }
        }
        Command::Merge(args) => match merge::load(&args.inputs) {
            Ok(reports) => {
                let report = merge::merge(reports.into_iter().map(|(_, r)| r).collect());
                let code = check::exit_code(&report, args.report.fail_on);
                (
                    Job::Merged(Box::new(report), code),
                    delivery(&args.report),
                    Duration::ZERO,
                )
            }
            Err(e) => return usage(&e.0),
        },
        // Answered above.
        Command::Rules(_) | Command::Action | Command::Generate(_) => return ExitCode::Usage,
    };
    if !matches!(job, Job::Merged(..)) {
        // Phase groups only where they cannot mix with a report on stdout.
        github::set_groups(delivery.format == Format::Text || delivery.output.is_some());
    }
    // One runtime per process; for `merge` it runs only the pull-request comment.
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    let ran = match job {
        Job::Check(config) => runtime.block_on(within_budget(budget, check::run(*config))),
        Job::Audit(config) => runtime.block_on(within_budget(budget, audit::run(*config))),
        Job::Merged(report, code) => Some(Ok((*report, code))),
    };
    match ran {
        Some(Ok((mut report, mut code))) => {
            if let Some(file) = file.filter(|f| !f.ignores.is_empty()) {
                let name = file.path.display().to_string();
                config::suppress::apply(&mut report, &file.ignores, &name, Date::today());
                code = check::exit_code(&report, fail_on);
            }
            after_interruption(output::deliver(&report, code, &delivery, &runtime))
        }
        Some(Err(e)) => usage(&e.to_string()),
        None => out_of_time(budget),
    }
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
