//! Publishing a finished report to GitHub Actions: annotations, the job
//! summary and step outputs. Called only when [`super::in_actions`].

use std::io::Write;
use std::path::Path;

use crate::report::{self, Report};

use super::{annotations, outputs, summary};

/// Prints `text` on stdout inside a collapsible `::group::`. Workflow
/// commands inside it are disabled with a random `::stop-commands::` token,
/// so text from AWS or the user's files cannot issue commands.
pub fn print_grouped(out: &mut impl Write, title: &str, text: &str) -> std::io::Result<()> {
    let token = uuid::Uuid::new_v4().simple().to_string();
    writeln!(out, "::group::{title}")?;
    writeln!(out, "::stop-commands::{token}")?;
    out.write_all(text.as_bytes())?;
    if !text.ends_with('\n') {
        writeln!(out)?;
    }
    writeln!(out, "::{token}::")?;
    writeln!(out, "::endgroup::")?;
    out.flush()
}

/// Prints the annotations, appends the markdown report to the job summary
/// (`GITHUB_STEP_SUMMARY`) and the outputs to `GITHUB_OUTPUT`. `report_path`
/// is the JSON report's file, when one was written; `extra` are further
/// outputs (`comment-url`, `sarif-file`). Failures are reported on stderr as
/// `warning: …` and otherwise ignored: they never change the exit code.
pub fn publish(report: &Report, report_path: Option<&Path>, extra: &[(&'static str, String)]) {
    let mut out = std::io::stdout().lock();
    for line in annotations::annotations(report) {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
    drop(out);

    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let path = Path::new(&path);
        if let Err(e) = summary::write_summary(path, &report::render_markdown(report)) {
            eprintln!(
                "warning: cannot write the job summary to {}: {e}",
                path.display()
            );
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let path = Path::new(&path);
        let mut values = outputs::check_outputs(report, report_path);
        values.extend(extra.iter().cloned());
        if let Err(e) = outputs::write_outputs(path, &values) {
            eprintln!(
                "warning: cannot write the step outputs to {}: {e}",
                path.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_text_disables_commands_and_ends_on_its_own_line() {
        let mut buf = Vec::new();
        print_grouped(&mut buf, "r", "::error::injected\nno newline").unwrap();
        let text = String::from_utf8(buf).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "::group::r");
        let token = lines[1].strip_prefix("::stop-commands::").unwrap();
        assert_eq!(token.len(), 32);
        assert_eq!(lines[2], "::error::injected");
        assert_eq!(lines[3], "no newline");
        assert_eq!(lines[4], format!("::{token}::"));
        assert_eq!(lines[5], "::endgroup::");
    }
}
