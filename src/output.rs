//! Where a finished report goes: rendered in `--format` to stdout or
//! `--output`, and under GitHub Actions also to the job summary and outputs.
//! Shared by every command that produces a [`Report`].

use std::io::Write;
use std::path::Path;

use crate::cli::Format;
use crate::error::ExitCode;
use crate::github;
use crate::report::{self, Report};

/// Renders `report` as `format`: to `output` when given (the text report
/// then still goes to stdout), else to stdout; publishes it under GitHub
/// Actions. Returns `code`, or [`ExitCode::Usage`] when `output` cannot be written.
pub fn emit(report: &Report, format: Format, output: Option<&Path>, code: ExitCode) -> ExitCode {
    let color = anstream::AutoStream::choice(&std::io::stdout()) != anstream::ColorChoice::Never;
    let rendered = match format {
        Format::Text => report::render_text(report, color),
        Format::Json => report::render_json(report),
        Format::Markdown => report::render_markdown(report),
    };
    let in_actions = github::in_actions();
    let mut code = code;
    let mut written = None;
    match output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &rendered) {
                eprintln!("error: cannot write --output {}: {e}", path.display());
                code = ExitCode::Usage;
            } else {
                written = Some(path);
            }
            print_text(&report::render_text(report, color), in_actions);
        }
        None if format == Format::Text => print_text(&rendered, in_actions),
        None => {
            let _ = anstream::stdout().write_all(rendered.as_bytes());
        }
    }
    if in_actions {
        github::publish::publish(report, written);
    }
    code
}

/// Prints the text report, inside a collapsible group under GitHub Actions.
fn print_text(text: &str, in_actions: bool) {
    let title = "ecr-fargate-preflight report";
    let _ = if in_actions {
        github::publish::print_grouped(&mut anstream::stdout(), title, text)
    } else {
        anstream::stdout().write_all(text.as_bytes())
    };
}
