//! Where a finished report goes: rendered in `--format` to stdout or
//! `--output`, and under GitHub Actions also to the job summary and outputs.
//! Shared by every command that produces a [`crate::report::Report`]: stdout,
//! `--output`, `--sarif`, and as the action the JSON report file and the
//! pull-request comment.

use secrecy::ExposeSecret;

use crate::cli::Format;
use crate::console;
use crate::error::ExitCode;
use crate::github;
use crate::report;

/// Where a finished report goes besides stdout.
pub struct Delivery<'a> {
    /// `--format`.
    pub format: Format,
    /// `--output`.
    pub output: Option<std::path::PathBuf>,
    /// `--sarif`.
    pub sarif: Option<std::path::PathBuf>,
    /// The action's run, when running as the action.
    pub action: Option<&'a crate::action::ActionRun>,
}

/// Renders and writes the report everywhere it goes: stdout, `--output`,
/// and as the action the JSON report file and the pull-request comment;
/// under GitHub Actions the annotations, summary and outputs. A file that
/// cannot be written makes the exit code 2 but stops nothing else. The
/// comment runs on the command's own `runtime`: one per process.
pub fn deliver(
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
        let sarif = report::render_sarif(report, &sarif_options(code));
        match std::fs::write(path, sarif) {
            Ok(()) => sarif_written = Some(path.display().to_string()),
            Err(e) => {
                console::err(&format!(
                    "error: cannot write --sarif {}: {e}",
                    path.display()
                ));
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
                console::err(&format!(
                    "error: cannot write the JSON report to {}: {e}",
                    run.report_file.display()
                ));
                code = ExitCode::Usage;
            }
        }
    }
    match &delivery.output {
        Some(path) => {
            if let Err(e) = std::fs::write(path, &rendered) {
                console::err(&format!(
                    "error: cannot write --output {}: {e}",
                    path.display()
                ));
                code = ExitCode::Usage;
            } else {
                written = Some(path.clone());
            }
            let text = match delivery.format {
                Format::Text => rendered,
                _ => report::render_text(report, color),
            };
            print_text(&text);
        }
        None if delivery.format == Format::Text => print_text(&rendered),
        None => console::document(&rendered, delivery.format == Format::Json),
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
            None => console::command(
                console::Command::Notice,
                &[("title", "ecr-fargate-preflight".into())],
                "No pull-request comment: the github-token input is empty. The findings are in the job summary and the annotations.",
            ),
            Some(token) => {
                let limit = crate::deadline::bounded(crate::deadline::COMMENT);
                let outcome = runtime
                    .block_on(async {
                        tokio::time::timeout(
                            limit,
                            github::comment::upsert_from_env(
                                report,
                                token.expose_secret(),
                                Some(&run.comment_key),
                                run.comment,
                            ),
                        )
                        .await
                    })
                    .unwrap_or_else(|_| github::comment::CommentOutcome::Failed {
                        reason: format!(
                            "the GitHub API did not finish within {} s (the run's --timeout, or the comment's own limit)",
                            limit.as_secs()
                        ),
                    });
                if let Some(command) = outcome.workflow_command() {
                    console::annotation_line(&command);
                }
                if let Some(url) = outcome.url() {
                    console::out(url);
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

/// Prints the text report, inside a collapsible group with workflow
/// commands stopped under GitHub Actions.
fn print_text(text: &str) {
    console::block("ecr-fargate-preflight report", text);
}

/// The SARIF options of this run: every rule of the catalogue; the
/// workflow file from `GITHUB_WORKFLOW_REF` as the fallback location; the
/// repository root from `GITHUB_WORKSPACE` (else the current directory),
/// paths relative to the current directory; and the run marked
/// unsuccessful when the check could not run (exit code 3).
fn sarif_options(code: ExitCode) -> report::SarifOptions {
    let cwd = std::env::current_dir().ok();
    let source_root = std::env::var_os("GITHUB_WORKSPACE")
        .filter(|w| !w.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| cwd.clone());
    report::SarifOptions {
        fallback_uri: std::env::var("GITHUB_WORKFLOW_REF")
            .ok()
            .and_then(|r| report::sarif::parse_workflow_ref(&r)),
        source_root,
        working_dir: cwd,
        execution_successful: code != ExitCode::CouldNotRun,
        rules: crate::catalog::all().collect(),
        ..report::SarifOptions::default()
    }
}
