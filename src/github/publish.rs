//! Publishing a finished report to GitHub Actions: annotations, the job
//! summary and step outputs. Called only when [`super::in_actions`].

use std::path::Path;

use crate::console;

use crate::report::{self, Report};

use super::{annotations, outputs, summary};

/// Prints the annotations, appends the markdown report to the job summary
/// (`GITHUB_STEP_SUMMARY`) and the outputs to `GITHUB_OUTPUT`. `report_path`
/// is the JSON report's file, when one was written; `extra` are further
/// outputs (`comment-url`, `sarif-file`). Failures are reported on stderr as
/// `warning: …` and otherwise ignored: they never change the exit code.
pub fn publish(report: &Report, report_path: Option<&Path>, extra: &[(&'static str, String)]) {
    for line in annotations::annotations(report) {
        console::annotation_line(&line);
    }

    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        let path = Path::new(&path);
        if let Err(e) = summary::write_summary(path, &report::render_markdown(report)) {
            console::err(&format!(
                "warning: cannot write the job summary to {}: {e}",
                path.display()
            ));
        }
    }
    if let Some(path) = std::env::var_os("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        let path = Path::new(&path);
        let mut values = outputs::check_outputs(report, report_path);
        values.extend(extra.iter().cloned());
        if let Err(e) = outputs::write_outputs(path, &values) {
            console::err(&format!(
                "warning: cannot write the step outputs to {}: {e}",
                path.display()
            ));
        }
    }
}
