//! The path diagrams, parsed by the real Mermaid parser: every diagram the
//! binary draws for the committed examples, the plan fixtures, a fleet of
//! identical services and a snapshot whose names are hostile must parse as a
//! Mermaid flowchart (`scripts/mermaid/check.mjs`, the `mermaid` package
//! pinned in its lock file, which `scripts/stand-ins.sh install` installs).
//! No stand-ins needed: the checks run offline.

mod harness;

use std::path::{Path, PathBuf};
use std::process::Command;

use harness::Binary;
use serde_json::Value;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Mermaid blocks of a markdown document.
fn mermaid_blocks(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None if line.trim_start_matches('`') == "mermaid" && line.starts_with("```") => {
                current = Some(String::new());
            }
            Some(block) if line.starts_with("```") && line.trim_start_matches('`').is_empty() => {
                out.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
            None => {}
        }
    }
    assert!(
        current.is_none(),
        "an unclosed mermaid block in:\n{markdown}"
    );
    out
}

/// What the real parser says of `diagrams`: its exit code and its lines.
fn parse(diagrams: &[String]) -> (i32, String) {
    let script = root().join("scripts/mermaid/check.mjs");
    assert!(
        root().join("scripts/mermaid/node_modules/mermaid").is_dir(),
        "the mermaid parser is not installed: run `scripts/stand-ins.sh install` (scripts/test does)"
    );
    let dir = tempfile::tempdir().unwrap();
    let files: Vec<PathBuf> = diagrams
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let path = dir.path().join(format!("d{i}.mmd"));
            std::fs::write(&path, d).unwrap();
            path
        })
        .collect();
    let out = Command::new("node")
        .arg(&script)
        .args(&files)
        .output()
        .expect("node runs (scripts/stand-ins.sh install puts it on the machine)");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Asserts that every diagram parses, and that there is at least one.
fn assert_all_parse(diagrams: &[String]) {
    assert!(!diagrams.is_empty(), "no diagram drawn");
    let (code, said) = parse(diagrams);
    assert_eq!(code, 0, "{said}\n{}", diagrams.join("\n---\n"));
    assert_eq!(
        said.lines().filter(|l| l.starts_with("ok ")).count(),
        diagrams.len(),
        "{said}"
    );
}

/// The markdown report of a saved snapshot (`--snapshot`).
fn snapshot_markdown(snapshot: &Path) -> String {
    let out = Binary::new()
        .unreachable_aws()
        .args(["check", "--snapshot"])
        .arg(snapshot)
        .args(["--format", "markdown"])
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        matches!(out.status.code(), Some(0 | 1 | 3)),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// `snapshot`'s JSON with `edit` applied, written to a file in `dir`.
fn edited_snapshot(dir: &Path, name: &str, edit: impl FnOnce(&mut Value) -> String) -> PathBuf {
    let example = root().join("examples/snapshots/fargate-1.4-upgrade-before.json");
    let mut value: Value =
        serde_json::from_str(&std::fs::read_to_string(example).unwrap()).unwrap();
    let text = edit(&mut value);
    let text = if text.is_empty() {
        serde_json::to_string(&value).unwrap()
    } else {
        text
    };
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn the_committed_examples_draw_diagrams_that_parse() {
    let snapshot =
        snapshot_markdown(&root().join("examples/snapshots/fargate-1.4-upgrade-before.json"));
    let mut diagrams = mermaid_blocks(&snapshot);
    assert_eq!(diagrams.len(), 1, "{snapshot}");
    assert!(
        diagrams[0].contains("network/endpoint-missing"),
        "{}",
        diagrams[0]
    );
    let mut plans: Vec<PathBuf> = std::fs::read_dir(root().join("tests/fixtures/plans"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    plans.sort();
    let mut drawn = 0;
    for plan in &plans {
        let out = Binary::new()
            .unreachable_aws()
            .args(["check", "--offline", "--terraform-plan"])
            .arg(plan)
            .args(["--format", "markdown"])
            .output();
        let blocks = mermaid_blocks(&String::from_utf8_lossy(&out.stdout));
        drawn += usize::from(!blocks.is_empty());
        diagrams.extend(blocks);
    }
    assert!(
        drawn >= 5,
        "only {drawn} of {} plans drew a diagram",
        plans.len()
    );
    assert_all_parse(&diagrams);
}

#[test]
fn a_hundred_identical_services_draw_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = edited_snapshot(dir.path(), "fleet.json", |s| {
        let first = s["workloads"][0].clone();
        let fleet: Vec<Value> = (0..100)
            .map(|i| {
                let mut w = first.clone();
                w["name"] = Value::from(format!("svc-{i}"));
                w
            })
            .collect();
        s["workloads"] = Value::from(fleet);
        String::new()
    });
    let markdown = snapshot_markdown(&path);
    let diagrams = mermaid_blocks(&markdown);
    assert_eq!(diagrams.len(), 1, "{markdown}");
    assert!(
        markdown.contains("**svc-0, svc-1, svc-2, svc-3, svc-4 and 95 more** (100 workload(s))"),
        "{markdown}"
    );
    assert!(
        diagrams[0].len() < 2_000,
        "{} bytes:\n{}",
        diagrams[0].len(),
        diagrams[0]
    );
    assert_all_parse(&diagrams);
}

#[test]
fn hostile_names_stay_inside_their_labels() {
    let hostile = "x\"]) --> evil[\"`|#;<img src=x onerror=alert(1)>\n```\n%%{init: {\"theme\": \"dark\"}}%% click n0 call alert()";
    let dir = tempfile::tempdir().unwrap();
    let path = edited_snapshot(dir.path(), "hostile.json", |s| {
        let text = serde_json::to_string(s).unwrap();
        let subnet = s["workloads"][0]["subnets"][0]
            .as_str()
            .unwrap()
            .to_string();
        let table = s["route_tables"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let json = serde_json::to_string(hostile).unwrap();
        let inner = &json[1..json.len() - 1];
        text.replace(&subnet, &format!("{subnet}{inner}"))
            .replace(&table, &format!("{table}{inner}2"))
    });
    let markdown = snapshot_markdown(&path);
    let diagrams = mermaid_blocks(&markdown);
    assert_eq!(diagrams.len(), 1, "{markdown}");
    let d = &diagrams[0];
    for bad in ["<img", "%%{", "evil[", "```", "\n  click"] {
        assert!(!d.contains(bad), "{bad:?} in {d}");
    }
    assert!(d.contains("#60;img src=x onerror=alert(1)#62;"), "{d}");
    assert_all_parse(&diagrams);
}

#[test]
fn the_parser_rejects_a_broken_diagram() {
    // The check above is only worth something if the parser says no: a
    // label that is not closed, as an unescaped quote would leave it.
    let snapshot =
        snapshot_markdown(&root().join("examples/snapshots/fargate-1.4-upgrade-before.json"));
    let good = mermaid_blocks(&snapshot).remove(0);
    let broken = good.replacen("\"]", "\"\"]", 1);
    assert_ne!(good, broken);
    let (code, said) = parse(&[good, broken]);
    assert_eq!(code, 1, "{said}");
    assert!(said.contains("ok ") && said.contains("error "), "{said}");
}

#[test]
fn the_readme_and_examples_show_the_current_diagram_of_the_upgrade_plan() {
    let out = Binary::new()
        .unreachable_aws()
        .args(["check", "--offline", "--terraform-plan"])
        .arg(root().join("examples/plans/fargate-1.4-upgrade-before.json"))
        .args(["--format", "markdown"])
        .output();
    let diagram = mermaid_blocks(&String::from_utf8_lossy(&out.stdout)).remove(0);
    let committed =
        std::fs::read_to_string(root().join("examples/diagrams/fargate-1.4-upgrade-before.mmd"))
            .unwrap();
    assert_eq!(
        committed, diagram,
        "examples/diagrams/ is out of date: run scripts/render-example"
    );
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("```mermaid\n{diagram}```")),
        "README.md's path diagram is out of date; paste examples/diagrams/fargate-1.4-upgrade-before.mmd"
    );
    assert_all_parse(&[committed]);
}
