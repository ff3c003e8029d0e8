//! The crate's modules import each other in one direction only: no module reaches, through
//! `crate::…`, `super::…` or `self::…` paths, back to itself. Read from the source text,
//! one node per file of `src/` (a `mod.rs` is its directory's module).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

/// A module path such as `["api", "ws"]`; the crate root is `[]`.
type ModPath = Vec<String>;

#[test]
fn no_module_imports_form_a_cycle() {
    let src = super::common::root().join("src");
    let files = rust_files(&src);
    assert!(files.len() > 20, "src/ holds {} Rust files", files.len());
    let modules: BTreeMap<ModPath, PathBuf> = files
        .iter()
        .map(|f| (module_path(&src, f), f.clone()))
        .collect();

    let mut edges: BTreeMap<ModPath, BTreeSet<ModPath>> = BTreeMap::new();
    for (module, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let code = code_outside_tests(&text);
        let children = child_modules(&code);
        let mut paths = referenced_paths(&code, &children);
        paths.extend(child_paths(&code, &children));
        for path in paths {
            let absolute = resolve(module, &path);
            if let Some(target) = longest_module(&modules, &absolute)
                && target != *module
            {
                edges.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    // A sanity check that the reading works: the API does use the store.
    assert!(
        edges
            .iter()
            .any(|(from, to)| from.first().is_some_and(|m| m == "api")
                && to.iter().any(|t| t.first().is_some_and(|m| m == "store"))),
        "no edge from api to store was read"
    );

    let cycles = find_cycles(&edges);
    assert!(
        cycles.is_empty(),
        "import cycles between modules:\n{}",
        cycles
            .iter()
            .map(|c| c.iter().map(show).collect::<Vec<_>>().join(" -> "))
            .collect::<Vec<_>>()
            .join("\n")
    );
}

fn show(m: &ModPath) -> String {
    if m.is_empty() {
        "crate".into()
    } else {
        m.join("::")
    }
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

fn module_path(src: &Path, file: &Path) -> ModPath {
    let rel = file.strip_prefix(src).unwrap();
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().trim_end_matches(".rs").to_string())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// The file's text up to its inline test module, without comments: that module's
/// `super::` means the file's own module, and tests may reach anywhere.
fn code_outside_tests(text: &str) -> String {
    let inline_tests = Regex::new(r"#\[cfg\(test\)\]\s*(?:pub\s+)?mod\s+\w+\s*\{").unwrap();
    let code = match inline_tests.find(text) {
        Some(m) => &text[..m.start()],
        None => text,
    };
    code.lines()
        .map(|l| match l.find("//") {
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Every path starting with `crate`, `super`, `self` or a child module, with `use` trees
/// expanded.
fn referenced_paths(code: &str, children: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let use_stmt = Regex::new(r"(?ms)^\s*(?:pub(?:\([^)]*\))?\s+)?use\s+([^;]+);").unwrap();
    for cap in use_stmt.captures_iter(code) {
        for mut path in expand_use_tree(&cap[1]) {
            if path.first().is_some_and(|first| children.contains(first)) {
                path.insert(0, "self".to_string());
            }
            if matches!(
                path.first().map(String::as_str),
                Some("crate" | "super" | "self")
            ) {
                out.push(path);
            }
        }
    }
    let without_uses = use_stmt.replace_all(code, "");
    let inline = Regex::new(r"\b(?:crate|super|self)(?:::\w+)+").unwrap();
    for m in inline.find_iter(&without_uses) {
        out.push(m.as_str().split("::").map(str::to_string).collect());
    }
    out
}

/// The modules a file declares (`mod runner;`).
fn child_modules(code: &str) -> Vec<String> {
    let declared = Regex::new(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*;").unwrap();
    declared
        .captures_iter(code)
        .map(|c| c[1].to_string())
        .collect()
}

/// Paths through the file's own child modules (`mod runner;` … `runner::Runner`), made
/// `self::` paths.
fn child_paths(code: &str, children: &[String]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for name in children {
        let used = Regex::new(&format!(r"(?:^|[^\w:]){name}((?:::\w+)+)")).unwrap();
        for m in used.captures_iter(code) {
            let mut path = vec!["self".to_string(), name.to_string()];
            path.extend(
                m[1].split("::")
                    .filter(|s| !s.is_empty())
                    .map(str::to_string),
            );
            out.push(path);
        }
    }
    out
}

/// `a::{b, c::{d, e}}` → `a::b`, `a::c::d`, `a::c::e` (`as` renames and globs dropped).
fn expand_use_tree(tree: &str) -> Vec<Vec<String>> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out = Vec::new();
    expand(&tree, &mut Vec::new(), &mut out);
    out
}

fn expand(tree: &str, prefix: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
    let tree = tree.trim();
    if let Some(open) = tree.find('{') {
        let Some(close) = matching_brace(tree, open) else {
            return;
        };
        let head = tree[..open].trim_end_matches("::").trim();
        let depth = prefix.len();
        prefix.extend(
            head.split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string),
        );
        let inner = &tree[open + 1..close];
        for part in split_top_level(inner) {
            expand(part, prefix, out);
        }
        prefix.truncate(depth);
    } else if !tree.is_empty() {
        let plain = tree.split(" as ").next().unwrap_or(tree).trim();
        let mut path = prefix.clone();
        path.extend(
            plain
                .split("::")
                .filter(|s| !s.is_empty() && *s != "*")
                .map(str::to_string),
        );
        if path.last().is_some_and(|s| s == "self") {
            path.pop();
        }
        out.push(path);
    }
}

fn matching_brace(s: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    for (i, ch) in s[open..].char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
    }
    None
}

fn split_top_level(s: &str) -> Vec<&str> {
    let (mut depth, mut start, mut parts) = (0, 0, Vec::new());
    for (i, ch) in s.char_indices() {
        match ch {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    parts.push(&s[start..]);
    parts
}

/// A path made absolute (from the crate root), given the module it is written in.
fn resolve(module: &ModPath, path: &[String]) -> ModPath {
    let mut base: ModPath = Vec::new();
    let mut rest = path;
    match path.first().map(String::as_str) {
        Some("crate") => rest = &path[1..],
        Some("self") => {
            base = module.clone();
            rest = &path[1..];
        }
        Some("super") => {
            base = module.clone();
            while rest.first().is_some_and(|s| s == "super") {
                base.pop();
                rest = &rest[1..];
            }
        }
        _ => {}
    }
    base.extend(rest.iter().cloned());
    base
}

/// The module (a file) that holds the item a path names: its longest prefix that is a module.
fn longest_module(modules: &BTreeMap<ModPath, PathBuf>, path: &ModPath) -> Option<ModPath> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| modules.contains_key(p))
}

/// Every elementary cycle found by a depth-first search (each reported once, from its
/// smallest module).
fn find_cycles(edges: &BTreeMap<ModPath, BTreeSet<ModPath>>) -> Vec<Vec<ModPath>> {
    let mut cycles: BTreeSet<Vec<ModPath>> = BTreeSet::new();
    for start in edges.keys() {
        let mut stack = vec![start.clone()];
        walk(start, start, edges, &mut stack, &mut cycles);
    }
    cycles.into_iter().collect()
}

fn walk(
    start: &ModPath,
    at: &ModPath,
    edges: &BTreeMap<ModPath, BTreeSet<ModPath>>,
    stack: &mut Vec<ModPath>,
    cycles: &mut BTreeSet<Vec<ModPath>>,
) {
    for next in edges.get(at).into_iter().flatten() {
        if next == start {
            let mut cycle = stack.clone();
            cycle.push(start.clone());
            cycles.insert(cycle);
        } else if next > start && !stack.contains(next) && stack.len() < 12 {
            stack.push(next.clone());
            walk(start, next, edges, stack, cycles);
            stack.pop();
        }
    }
}
