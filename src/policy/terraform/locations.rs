//! Where each resource of a plan is declared: the `.tf` file and line of its
//! `resource` (or `data`) block in the workspace, so annotations land on the
//! pull request's diff. Modules with a local source are looked up in their
//! directory; registry and Git modules are not in the workspace.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use super::index::{Index, Instance};
use super::{Location, Notes};

/// Files larger than this are not read: no hand-written `.tf` file is this big.
const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;
/// How many `.tf` files a workspace may have before the search stops.
const MAX_FILES: usize = 20_000;
/// How deep the directory walk goes.
const MAX_DEPTH: usize = 24;

/// One `resource "TYPE" "NAME"` or `data "TYPE" "NAME"` block header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Declaration {
    /// `resource` or `data`.
    block: String,
    resource_type: String,
    name: String,
    /// Relative to the workspace, with `/`.
    file: String,
    /// The directory of `file` (`""` for the workspace itself).
    dir: String,
    line: usize,
}

/// The location of every instance, keyed by address and by each snapshot id
/// that stands for it.
pub(crate) fn locate(
    ix: &Index,
    notes: &Notes,
    workspace: Option<&Path>,
) -> BTreeMap<String, Location> {
    let declarations = workspace.map(scan).unwrap_or_default();
    let root_dir = root_dir(ix, &declarations);
    let mut by_address: BTreeMap<String, Location> = BTreeMap::new();
    for inst in &ix.instances {
        let found = find(ix, inst, &declarations, root_dir.as_deref());
        by_address.insert(
            inst.address.clone(),
            Location {
                address: inst.address.clone(),
                file: found.map(|d| d.file.clone()),
                line: found.map(|d| d.line),
            },
        );
    }
    let mut out = by_address.clone();
    for (id, address) in &notes.addresses {
        if let Some(location) = by_address.get(address) {
            out.insert(id.clone(), location.clone());
        }
    }
    out
}

fn block_of(inst: &Instance) -> &'static str {
    if inst.data { "data" } else { "resource" }
}

fn candidates<'d>(inst: &Instance, declarations: &'d [Declaration]) -> Vec<&'d Declaration> {
    let name = instance_name(inst);
    declarations
        .iter()
        .filter(|d| {
            d.block == block_of(inst) && d.resource_type == inst.resource_type && d.name == name
        })
        .collect()
}

/// The resource name: the address's last `type.name`, without an instance key.
fn instance_name(inst: &Instance) -> String {
    let without_key = match inst.address.rfind('[') {
        Some(i) if inst.key.is_some() => &inst.address[..i],
        _ => inst.address.as_str(),
    };
    without_key
        .rsplit('.')
        .next()
        .unwrap_or_default()
        .to_string()
}

/// The root module's directory: where most root resources are declared.
fn root_dir(ix: &Index, declarations: &[Declaration]) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for inst in ix.instances.iter().filter(|i| i.module.is_empty()) {
        for d in candidates(inst, declarations) {
            *counts.entry(d.dir.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then_with(|| b.0.len().cmp(&a.0.len())))
        .map(|(dir, _)| dir.to_string())
}

fn find<'d>(
    ix: &Index,
    inst: &Instance,
    declarations: &'d [Declaration],
    root: Option<&str>,
) -> Option<&'d Declaration> {
    let found = candidates(inst, declarations);
    if found.len() <= 1 {
        return found.first().copied();
    }
    let dir = module_dir(ix, &inst.module, root?);
    match dir {
        Some(dir) => found.iter().copied().find(|d| d.dir == dir),
        None => None,
    }
    .or_else(|| found.first().copied())
}

/// The directory of the module at `path`, following local `source`s from the root.
fn module_dir(ix: &Index, path: &[String], root: &str) -> Option<String> {
    let mut dir: Vec<String> = split(root);
    for depth in 0..path.len() {
        let parent = ix.config_module(&path[..depth])?;
        let source = parent.module_calls.get(&path[depth])?.source.as_deref()?;
        if !(source.starts_with("./") || source.starts_with("../")) {
            return None;
        }
        for part in source.split('/') {
            match part {
                "" | "." => {}
                ".." => {
                    dir.pop()?;
                }
                other => dir.push(other.to_string()),
            }
        }
    }
    Some(dir.join("/"))
}

fn split(dir: &str) -> Vec<String> {
    dir.split('/')
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect()
}

/// Every block header in the workspace's `.tf` files.
fn scan(workspace: &Path) -> Vec<Declaration> {
    let mut files = Vec::new();
    walk(workspace, "", 0, &mut files);
    files.sort();
    let mut out = Vec::new();
    for relative in files {
        let path = workspace.join(&relative);
        let too_big = fs::metadata(&path).map_or(true, |m| m.len() > MAX_FILE_BYTES);
        if too_big {
            continue;
        }
        let Ok(text) = fs::read_to_string(&path) else {
            continue;
        };
        let dir = relative.rsplit_once('/').map_or("", |(d, _)| d).to_string();
        for (line, block, resource_type, name) in declarations(&text) {
            out.push(Declaration {
                block,
                resource_type,
                name,
                file: relative.clone(),
                dir: dir.clone(),
                line,
            });
        }
    }
    out
}

fn walk(root: &Path, relative: &str, depth: usize, files: &mut Vec<String>) {
    if depth > MAX_DEPTH || files.len() >= MAX_FILES {
        return;
    }
    let Ok(entries) = fs::read_dir(root.join(relative)) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let Some(name) = entry.file_name().to_str().map(str::to_string) else {
            continue;
        };
        let child = if relative.is_empty() {
            name.clone()
        } else {
            format!("{relative}/{name}")
        };
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            // `.terraform/` holds downloaded modules; `.git/` and other hidden folders no configuration.
            if !name.starts_with('.') {
                walk(root, &child, depth + 1, files);
            }
        } else if kind.is_file() && name.ends_with(".tf") {
            files.push(child);
            if files.len() >= MAX_FILES {
                return;
            }
        }
    }
}

/// `(line, block, type, name)` of each `resource`/`data` block header,
/// skipping comments and heredocs.
fn declarations(text: &str) -> Vec<(usize, String, String, String)> {
    let mut out = Vec::new();
    let mut in_comment = false;
    let mut heredoc: Option<String> = None;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(end) = &heredoc {
            if line == end {
                heredoc = None;
            }
            continue;
        }
        if in_comment {
            if line.contains("*/") {
                in_comment = false;
            }
            continue;
        }
        if line.starts_with("/*") && !line.contains("*/") {
            in_comment = true;
            continue;
        }
        if let Some(marker) = heredoc_marker(line) {
            heredoc = Some(marker);
        }
        if let Some((block, resource_type, name)) = header(line) {
            out.push((n + 1, block, resource_type, name));
        }
    }
    out
}

/// `EOT` for a line that opens `<<EOT` or `<<-EOT`.
fn heredoc_marker(line: &str) -> Option<String> {
    let after = &line[line.find("<<")? + 2..];
    let after = after.strip_prefix('-').unwrap_or(after);
    let marker: String = after
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    (!marker.is_empty()).then_some(marker)
}

/// `resource "aws_subnet" "a" {` → `("resource", "aws_subnet", "a")`.
fn header(line: &str) -> Option<(String, String, String)> {
    let (block, _) = line.split_once(|c: char| c.is_whitespace() || c == '"')?;
    if block != "resource" && block != "data" {
        return None;
    }
    let rest = &line[block.len()..];
    let (first, rest) = label(rest)?;
    let (second, rest) = label(rest)?;
    rest.trim_start()
        .starts_with('{')
        .then(|| (block.to_string(), first, second))
}

/// One block label, quoted or bare, and the text after it.
fn label(text: &str) -> Option<(String, &str)> {
    let text = text.trim_start();
    if let Some(quoted) = text.strip_prefix('"') {
        let end = quoted.find('"')?;
        return Some((quoted[..end].to_string(), &quoted[end + 1..]));
    }
    let end = text
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .unwrap_or(text.len());
    (end > 0).then(|| (text[..end].to_string(), &text[end..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_headers() {
        let text = "resource \"aws_subnet\" \"a\" {\n  # resource \"x\" \"y\" {\n}\n/*\nresource \"aws_vpc\" \"gone\" {\n*/\ndata aws_prefix_list s3 {\n}\nlocals {\n  doc = <<-EOT\nresource \"aws_vpc\" \"in_heredoc\" {\n  EOT\n}\n  resource   \"aws_vpc\"   \"main\"{\n";
        let found = declarations(text);
        assert_eq!(
            found,
            [
                (1, "resource".into(), "aws_subnet".into(), "a".into()),
                (7, "data".into(), "aws_prefix_list".into(), "s3".into()),
                (14, "resource".into(), "aws_vpc".into(), "main".into()),
            ]
        );
    }

    #[test]
    fn malformed_headers_are_not_declarations() {
        for line in [
            "resource \"aws_vpc\" {",
            "resource",
            "resource \"unterminated",
            "resources \"a\" \"b\" {",
            "resource \"a\" \"b\"",
        ] {
            assert_eq!(header(line), None, "{line}");
        }
    }
}
