//! The layout holds: no two modules of the crate import each other, however indirectly,
//! and the repository's entity modules build on `repo::sql` and `repo::search` only,
//! never on one another (README, Layout). Read from the source, so a new `use` that
//! breaks the layering fails here.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Every `.rs` file below `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read the source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/repo/sql/dialect.rs` → `["repo", "sql", "dialect"]`; `mod.rs`, `lib.rs` and
/// `main.rs` name their folder.
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).expect("below src").with_extension("");
    let mut parts: Vec<String> = rel.iter().map(|p| p.to_string_lossy().into_owned()).collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib" | "main")) {
        parts.pop();
    }
    parts
}

/// The modules a file names through `crate::…` or `super::…` paths, outside its unit
/// tests, each cut to the longest prefix that is a module of the crate.
fn references(module: &[String], is_mod_rs: bool, text: &str, modules: &BTreeSet<Vec<String>>) -> BTreeSet<Vec<String>> {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    for start in (0..bytes.len()).filter(|&i| code.is_char_boundary(i)) {
        let rest = &code[start..];
        if !(rest.starts_with("crate::") || rest.starts_with("super::")) {
            continue;
        }
        if start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_' || bytes[start - 1] == b':') {
            continue;
        }
        let path: Vec<&str> = rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':')).next().unwrap_or("").split("::").collect();
        let mut target: Vec<String> = if path[0] == "crate" {
            Vec::new()
        } else {
            // `super` of a file module is its folder's module; of a `mod.rs`, the parent
            let mut base = module.to_vec();
            if !is_mod_rs || !base.is_empty() {
                base.pop();
            }
            base
        };
        let mut names = path[1..].iter();
        for name in names.by_ref() {
            if *name == "super" {
                target.pop();
            } else {
                target.push(name.to_string());
            }
        }
        while !target.is_empty() && !modules.contains(&target) {
            target.pop();
        }
        found.insert(target);
    }
    found
}

/// `module` and `other` are distinct and neither contains the other.
fn apart(module: &[String], other: &[String]) -> bool {
    !module.starts_with(other) && !other.starts_with(module)
}

#[test]
fn no_module_imports_another_that_imports_it_back_and_entities_build_on_sql_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let modules: BTreeSet<Vec<String>> = files.iter().map(|f| module_of(&src, f)).collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    for file in &files {
        let module = module_of(&src, file);
        let text = std::fs::read_to_string(file).expect("read a source file");
        let is_mod_rs = file.file_name().is_some_and(|n| n == "mod.rs");
        for target in references(&module, is_mod_rs, &text, &modules) {
            if !target.is_empty() && apart(&module, &target) {
                graph.entry(module.clone()).or_default().insert(target);
            }
        }
    }
    let repo: Vec<String> = vec!["repo".into()];
    assert!(graph.get(&repo).is_some_and(|t| t.contains(&vec!["domain".to_string()])), "the reader finds imports: {graph:?}");

    // no cycles: nothing reaches back to a module it is reached from
    let reaches = |from: &Vec<String>, to: &Vec<String>| {
        let (mut seen, mut todo) = (BTreeSet::new(), vec![from.clone()]);
        while let Some(m) = todo.pop() {
            if &m == to {
                return true;
            }
            for n in graph.iter().filter(|(k, _)| m.starts_with(k) || k.starts_with(&m)).flat_map(|(_, v)| v) {
                if seen.insert(n.clone()) {
                    todo.push(n.clone());
                }
            }
        }
        false
    };
    for (module, targets) in &graph {
        for target in targets {
            assert!(!reaches(target, module), "{} imports {}, which leads back to it", module.join("::"), target.join("::"));
        }
    }

    // the repository's entity modules import `repo::sql`, `repo::search` and the
    // repository's root (its `Repo` and errors), never another entity module
    let shared = [vec!["repo".to_string(), "sql".to_string()], vec!["repo".to_string(), "search".to_string()]];
    let entities: Vec<&Vec<String>> =
        modules.iter().filter(|m| m.len() == 2 && m[0] == "repo" && !shared.contains(m)).collect();
    assert!(entities.len() >= 10, "the entity modules are found: {entities:?}");
    for entity in &entities {
        for target in graph.get(*entity).into_iter().flatten() {
            let other_entity = target.len() >= 2 && target[0] == "repo" && !shared.iter().any(|s| target.starts_with(s));
            assert!(!other_entity, "{} imports the entity module {}", entity.join("::"), target.join("::"));
        }
    }
}
