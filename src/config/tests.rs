use super::*;

fn with_file(text: &str, argv: &[&str], from_inputs: bool) -> Result<Vec<String>, UsageError> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    std::fs::write(&path, text).unwrap();
    let mut argv: Vec<String> = argv.iter().map(|a| a.to_string()).collect();
    argv.insert(2, format!("--config={}", path.display()));
    apply(argv, &|_| None, from_inputs).map(|a| a.argv[2..].to_vec())
}

#[test]
fn file_options_go_before_the_typed_ones_and_flags_win() {
    let text = "fail-on = \"warning\"\nplatforms = [\"linux/amd64\"]\nverbose = true\n[check]\nrepository = \"team/app\"\n[audit]\nconcurrency = 8\n";
    let argv = with_file(text, &["efp", "check", "--fail-on", "never"], false).unwrap();
    assert_eq!(argv[0], "--platforms=linux/amd64", "{argv:?}");
    assert!(argv.contains(&"--verbose".to_string()), "{argv:?}");
    assert!(
        argv.contains(&"--repository=team/app".to_string()),
        "{argv:?}"
    );
    // The typed flag wins: the file's fail-on is left out.
    assert!(
        !argv.iter().any(|a| a.starts_with("--fail-on=")),
        "{argv:?}"
    );
    assert!(!argv.iter().any(|a| a.contains("concurrency")), "{argv:?}");
    let audit = with_file(text, &["efp", "audit", "--cluster", "prod"], false).unwrap();
    assert!(audit.contains(&"--concurrency=8".to_string()), "{audit:?}");
    assert!(!audit.iter().any(|a| a.contains("repository")), "{audit:?}");
}

#[test]
fn an_input_at_its_default_yields_to_the_file() {
    let text = "fail-on = \"warning\"\n";
    let argv = with_file(
        text,
        &["efp", "check", "--repository=a", "--fail-on=error"],
        true,
    )
    .unwrap();
    assert!(argv.contains(&"--fail-on=warning".to_string()), "{argv:?}");
    assert!(!argv.contains(&"--fail-on=error".to_string()), "{argv:?}");
    // A typed flag at its default still wins on the command line.
    let argv = with_file(
        text,
        &["efp", "check", "--repository=a", "--fail-on=error"],
        false,
    )
    .unwrap();
    assert!(argv.contains(&"--fail-on=error".to_string()), "{argv:?}");
    assert!(!argv.contains(&"--fail-on=warning".to_string()), "{argv:?}");
}

#[test]
fn a_command_section_wins_over_the_top_level() {
    let text = "region = \"eu-west-1\"\n[check]\nregion = \"us-east-1\"\n";
    let argv = with_file(text, &["efp", "check", "--repository=a"], false).unwrap();
    assert_eq!(
        argv.iter().filter(|a| a.starts_with("--region")).count(),
        1,
        "{argv:?}"
    );
    assert!(argv.contains(&"--region=us-east-1".to_string()), "{argv:?}");
}

#[test]
fn other_commands_and_no_file_are_left_alone() {
    let argv = vec!["efp".to_string(), "rules".to_string()];
    assert_eq!(apply(argv.clone(), &|_| None, false).unwrap().argv, argv);
    let argv = vec![
        "efp".to_string(),
        "check".to_string(),
        "--repository=a".to_string(),
    ];
    let dir = tempfile::tempdir().unwrap();
    let get = |name: &str| (name == "GITHUB_WORKSPACE").then(|| dir.path().display().to_string());
    let applied = apply(argv.clone(), &get, false).unwrap();
    assert_eq!(applied.argv, argv);
    assert!(applied.config.is_none());
}

#[test]
fn values_with_control_characters_are_refused() {
    let e = with_file("region = \"us\\neast\"\n", &["efp", "check"], false).unwrap_err();
    assert!(e.0.contains("c.toml:1: `region`"), "{e}");
}
