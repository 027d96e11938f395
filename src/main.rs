//! The binary: parse, run, render, exit. The work happens in the library.

use std::io::Write;
use std::process::ExitCode as ProcessExit;

use clap::Parser;
use ecr_fargate_preflight::check::{self, CheckConfig};
use ecr_fargate_preflight::cli::{Cli, Command, Format};
use ecr_fargate_preflight::error::ExitCode;
use ecr_fargate_preflight::{github, push, report, rules};

fn main() -> ProcessExit {
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
        Command::Check(args) => run_check(*args),
        Command::Audit(args) => {
            init_logging(args.verbose);
            ecr_fargate_preflight::audit::run_audit(*args)
        }
        Command::Merge(args) => ecr_fargate_preflight::merge::run_merge(args),
    };
    ProcessExit::from(code as u8)
}

fn run_check(args: ecr_fargate_preflight::cli::CheckArgs) -> ExitCode {
    init_logging(args.verbose);
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
    let (report, mut code) = match runtime.block_on(check::run(config)) {
        Ok(r) => r,
        Err(e) => return usage(&e.to_string()),
    };
    let rendered = match format {
        Format::Text => report::render_text(
            &report,
            anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never,
        ),
        Format::Json => report::render_json(&report),
        Format::Markdown => report::render_markdown(&report),
    };
    let in_actions = github::in_actions();
    let mut written = None;
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(&path, &rendered) {
                eprintln!("error: cannot write --output {}: {e}", path.display());
                code = ExitCode::Usage;
            } else {
                written = Some(path);
            }
            let text = report::render_text(
                &report,
                anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never,
            );
            print_report(&text, in_actions);
        }
        None if format == Format::Text => print_report(&rendered, in_actions),
        None => {
            let _ = anstream::stdout().write_all(rendered.as_bytes());
        }
    }
    if in_actions {
        github::publish::publish(&report, written.as_deref());
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
