//! The crate's layering, read from its source: which module refers to which
//! (`crate::…`, `super::…` and `use` paths, outside `#[cfg(test)]` code).
//! Fails on an import cycle between modules and on a judge or renderer
//! that refers to a gatherer.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path such as `push::probe`, for a source file.
fn module_of(src: &Path, file: &Path) -> String {
    let relative = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The production code of a source file: up to its `#[cfg(test)]` module,
/// without comments (a doc link is not a dependency).
fn production(text: &str) -> String {
    text.split("#[cfg(test)]")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every `crate::a::b…` and `super::…` path in `code`, resolved against
/// `module`, cut to the longest prefix that is a known module.
fn references(module: &str, code: &str, modules: &BTreeSet<String>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let text = code;
    for (start, _) in text.match_indices(['c', 's']) {
        let rest = &text[start..];
        let boundary = start == 0
            || !text[..start]
                .chars()
                .last()
                .is_some_and(|c| c.is_alphanumeric() || c == '_');
        if !boundary {
            continue;
        }
        let mut base: Vec<String> = if rest.starts_with("crate::") {
            Vec::new()
        } else if rest.starts_with("super::") {
            let mut parts: Vec<String> = module.split("::").map(str::to_string).collect();
            // A file module's `super` is its parent; `mod.rs` is the module itself.
            parts.pop();
            parts
        } else {
            continue;
        };
        let path: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == ':')
            .collect();
        let mut segments: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        segments.remove(0); // `crate` or the first `super`
        while segments.first() == Some(&"super") {
            base.pop();
            segments.remove(0);
        }
        let mut best = None;
        let mut candidate = base.clone();
        for segment in segments {
            candidate.push(segment.to_string());
            let joined = candidate.join("::");
            if modules.contains(&joined) {
                best = Some(joined);
            }
        }
        if let Some(target) = best
            && target != module
            && !module.starts_with(&format!("{target}::"))
        {
            out.insert(target);
        }
    }
    out
}

/// The module graph of `src/` (the library; `main.rs` is left out).
fn graph(src: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.retain(|f| !f.ends_with("main.rs"));
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(src, f)).collect();
    files
        .iter()
        .filter(|f| !module_of(src, f).is_empty())
        .map(|f| {
            let module = module_of(src, f);
            let text = std::fs::read_to_string(f).unwrap();
            let refs = references(&module, &production(&text), &modules);
            (module, refs)
        })
        .collect()
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, v: &'a str) {
        s.index.insert(v, s.next);
        s.low.insert(v, s.next);
        s.next += 1;
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !graph.contains_key(w) {
                continue;
            }
            if !s.index.contains_key(w) {
                visit(s, w);
                let low = s.low[w].min(s.low[v]);
                s.low.insert(v, low);
            } else if s.on_stack.contains(w) {
                let low = s.index[w].min(s.low[v]);
                s.low.insert(v, low);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// No module imports its way back to itself: the catalogue of rules sits
/// on top (`catalog`), the areas below it, the report's data at the bottom.
#[test]
fn no_import_cycle() {
    let g = graph(&src());
    let found = cycles(&g);
    assert!(
        found.is_empty(),
        "import cycles: {}",
        found
            .iter()
            .map(|c| c.join(" → "))
            .collect::<Vec<_>>()
            .join("; ")
    );
    // The console is the bottom layer: it imports no other module.
    assert!(
        g["console"].is_empty(),
        "console imports {:?}",
        g["console"]
    );
}

/// Modules that do I/O: the SDK, HTTP and file reads.
fn is_gatherer(m: &str) -> bool {
    m.starts_with("network::gather")
        || (m.starts_with("aws::") && m != "aws::repository")
        || matches!(
            m,
            "push::ecr"
                | "push::probe"
                | "push::registry"
                | "github::oidc"
                | "github::comment"
                | "policy::inputs"
                | "trust::gather"
                | "build::gather"
        )
}

/// Judges and renderers: pure functions from facts to findings, and from
/// findings to text.
fn is_judge_or_renderer(m: &str) -> bool {
    m == "report"
        || m.starts_with("report::")
        || m == "rules"
        || m.starts_with("network::rules")
        || (m.starts_with("push::diagnose::") && !m.ends_with("::tests"))
        || matches!(
            m,
            "push::diagnose"
                | "push::denial"
                | "push::read_only"
                | "policy::evaluate"
                | "policy::evaluate::statement"
                | "policy::flows"
                | "github::annotations"
                | "github::summary"
                | "github::comment::body"
                | "trust::claims"
                | "build::dockerfile"
                | "build::workflow"
        )
        || m.starts_with("trust::rules")
        || m.starts_with("build::rules")
}

/// Judge-to-gatherer edges still allowed: none. Kept as a ratchet so that
/// an exception, if one is ever needed, is written down and reviewed.
const KNOWN_JUDGE_TO_GATHERER: &[&str] = &[];

/// A judge or a renderer never refers to a gatherer.
#[test]
fn judges_and_renderers_refer_to_no_gatherer() {
    let g = graph(&src());
    let mut wrong = Vec::new();
    for (module, refs) in g.iter().filter(|(m, _)| is_judge_or_renderer(m)) {
        for r in refs.iter().filter(|r| is_gatherer(r)) {
            let edge = format!("{module} → {r}");
            if !KNOWN_JUDGE_TO_GATHERER.contains(&edge.as_str()) {
                wrong.push(edge);
            }
        }
    }
    assert!(wrong.is_empty(), "{wrong:?}");
}

/// Gathering never calls judging: discovery (`network::gather`) and the plan
/// reader (`policy::terraform`) refer to no rule module. What both sides need
/// (the endpoint matrix, the needed actions, facts about the snapshot) lives
/// below the rules, in `network::{endpoints, needs, facts}`.
#[test]
fn gatherers_refer_to_no_rule() {
    let g = graph(&src());
    let gatherer = |m: &str| {
        m.starts_with("network::gather")
            || (m.starts_with("policy::terraform") && !m.ends_with("::tests"))
    };
    let judge = |m: &str| m == "rules" || m.starts_with("network::rules");
    for (module, refs) in g.iter().filter(|(m, _)| gatherer(m)) {
        let judges: Vec<&String> = refs.iter().filter(|r| judge(r)).collect();
        assert!(judges.is_empty(), "{module} refers to {judges:?}");
    }
}

/// The checker itself finds a planted cycle and misses none in a chain.
#[test]
fn a_planted_cycle_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    };
    write("lib.rs", "pub mod a; pub mod b; pub mod c;");
    write("a.rs", "use crate::b::inner::{thing, other};");
    write("b/mod.rs", "pub mod inner;");
    write("b/inner.rs", "use super::super::c::Other;");
    write(
        "c.rs",
        "fn f() { crate::a::go(); }\n#[cfg(test)]\nmod tests { use crate::b; }",
    );
    let g = graph(dir.path());
    assert_eq!(cycles(&g), [["a", "b::inner", "c"]]);
    // Broken in one place, the cycle is gone (test code does not count).
    write(
        "c.rs",
        "fn f() {}\n#[cfg(test)]\nmod tests { use crate::a; }",
    );
    assert!(cycles(&graph(dir.path())).is_empty());
}
