//! The module import graph of a crate's sources, read from its `use`
//! lines, and the check that it has no cycle: layers point one way
//! (`../shared/DESIGN.md`, issue 19). This file's test checks `ffi/src`.
//!
//! Another crate's test can use the reader on its own sources:
//!
//! ```ignore
//! #[path = "../ffi/tests/import_graph.rs"]
//! mod import_graph;
//!
//! #[test]
//! fn src_has_no_import_cycle() {
//!     import_graph::assert_acyclic(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
//! }
//! ```
//!
//! (The `#[test]` below then runs there too, on `ffi/src` again: harmless.)
//!
//! What counts as an edge `a -> b`: module `a` (one file: `x.rs` or
//! `x/mod.rs`, its inline modules folded into it) names an item of module
//! `b` through `crate::`, `super::`, `self::` or a child module's name,
//! in a `use` (any depth) or written out in code (`crate::ffi::Out`).
//! A name reached through a re-export counts as an edge to the module
//! that defines it, found by following `pub use` (explicit or glob).
//! Not edges: `mod` declarations, the re-exports themselves (`pub use`,
//! `pub(crate) use`: a facade such as `lib.rs` depends on nothing by
//! re-exporting), paths in comments, strings and doc links, paths to other
//! crates, and everything under `#[cfg(test)]` (tests may use any layer).
//!
//! A lexer, not a parser: enough for the `use` trees, paths and item
//! definitions of ordinary Rust; macros that build paths are not seen.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

/// A module path below the crate root: `[]` is the root, `["validator",
/// "table"]` is `crate::validator::table`.
type ModPath = Vec<String>;

/// The import graph of one crate's sources.
#[derive(Debug, Default)]
pub struct Graph {
    /// Every file module, as `crate::a::b`, with the modules it imports
    /// from and, for each, the first place (`file:line`) that does.
    pub edges: BTreeMap<String, BTreeMap<String, String>>,
}

impl Graph {
    /// The modules `module` imports from.
    pub fn imports_of(&self, module: &str) -> Vec<&str> {
        self.edges
            .get(module)
            .map(|m| m.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    /// One line per module: `crate::a -> crate::b, crate::c`.
    pub fn render(&self) -> String {
        let mut out = String::new();
        for (from, to) in &self.edges {
            let to: Vec<&str> = to.keys().map(String::as_str).collect();
            let _ = writeln!(out, "{from} -> {}", to.join(", "));
        }
        out
    }

    /// The strongly connected components with more than one module: each
    /// holds at least one cycle.
    pub fn knots(&self) -> Vec<Vec<String>> {
        let names: Vec<&String> = self.edges.keys().collect();
        let index: BTreeMap<&String, usize> =
            names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let succ: Vec<Vec<usize>> = names
            .iter()
            .map(|n| {
                self.edges[*n]
                    .keys()
                    .filter_map(|t| index.get(t).copied())
                    .collect()
            })
            .collect();
        // Tarjan, iteratively.
        let n = names.len();
        let (mut idx, mut low, mut on) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
        let (mut stack, mut knots, mut counter) = (Vec::new(), Vec::new(), 0);
        for root in 0..n {
            if idx[root] != usize::MAX {
                continue;
            }
            let mut work = vec![(root, 0usize)];
            while let Some(&mut (v, ref mut next)) = work.last_mut() {
                if *next == 0 {
                    idx[v] = counter;
                    low[v] = counter;
                    counter += 1;
                    stack.push(v);
                    on[v] = true;
                }
                if let Some(&w) = succ[v].get(*next) {
                    *next += 1;
                    if idx[w] == usize::MAX {
                        work.push((w, 0));
                    } else if on[w] {
                        low[v] = low[v].min(idx[w]);
                    }
                    continue;
                }
                work.pop();
                if let Some(&(parent, _)) = work.last() {
                    low[parent] = low[parent].min(low[v]);
                }
                if low[v] == idx[v] {
                    let mut component = Vec::new();
                    while let Some(w) = stack.pop() {
                        on[w] = false;
                        component.push(names[w].clone());
                        if w == v {
                            break;
                        }
                    }
                    if component.len() > 1 {
                        component.sort();
                        knots.push(component);
                    }
                }
            }
        }
        knots
    }

    /// A shortest cycle through `start` inside `within`, as modules with
    /// the place of each edge: `a -> b (file:line) -> … -> a`.
    pub fn cycle_through(&self, start: &str, within: &[String]) -> Option<Vec<(String, String)>> {
        let within: BTreeSet<&str> = within.iter().map(String::as_str).collect();
        let mut came_from: BTreeMap<&str, &str> = BTreeMap::new();
        let mut queue = VecDeque::from([start]);
        while let Some(v) = queue.pop_front() {
            for t in self.edges.get(v).into_iter().flat_map(|m| m.keys()) {
                let t = t.as_str();
                if !within.contains(t) {
                    continue;
                }
                if t == start {
                    let mut path = vec![v];
                    while let Some(&p) = came_from.get(path[path.len() - 1]) {
                        path.push(p);
                    }
                    path.reverse();
                    path.push(start);
                    let steps = path
                        .windows(2)
                        .map(|w| (w[1].to_owned(), self.edges[w[0]][w[1]].clone()))
                        .collect();
                    return Some(steps);
                }
                if t != start && !came_from.contains_key(t) {
                    came_from.insert(t, v);
                    queue.push_back(t);
                }
            }
        }
        None
    }

    /// Every knot, each with one of its cycles spelled out; empty when
    /// the graph is acyclic.
    pub fn cycles_report(&self) -> String {
        let mut out = String::new();
        for knot in self.knots() {
            let _ = writeln!(out, "modules importing each other: {}", knot.join(", "));
            if let Some(steps) = self.cycle_through(&knot[0], &knot) {
                let _ = writeln!(out, "  for example: {}", knot[0]);
                for (to, at) in steps {
                    let _ = writeln!(out, "    -> {to}  ({at})");
                }
            }
        }
        out
    }
}

/// Panics, printing each cycle, if the modules under `dir` (a crate's
/// `src`, holding `lib.rs` or `main.rs`) import each other in a circle.
pub fn assert_acyclic(dir: &Path) {
    let graph = read(dir);
    assert!(
        graph.edges.len() > 1,
        "no modules found under {}",
        dir.display()
    );
    let report = graph.cycles_report();
    assert!(
        report.is_empty(),
        "the module import graph of {} has a cycle:\n{report}\nthe whole graph:\n{}",
        dir.display(),
        graph.render()
    );
}

/// Reads the import graph of the crate whose sources are under `dir`.
pub fn read(dir: &Path) -> Graph {
    let mut files = Vec::new();
    collect_files(dir, &mut files);
    files.sort();
    let mut modules: BTreeMap<ModPath, Module> = BTreeMap::new();
    let mut test_only: BTreeSet<ModPath> = BTreeSet::new();
    for file in &files {
        let Some(path) = module_path(dir, file) else {
            continue;
        };
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let shown = file
            .strip_prefix(dir.parent().unwrap_or(dir))
            .unwrap_or(file);
        scan_file(
            &path,
            &shown.display().to_string(),
            &lex(&text),
            &mut modules,
            &mut test_only,
        );
    }
    // Files declared by `#[cfg(test)] mod x;` are tests: left out, with
    // their children.
    modules.retain(|p, _| !test_only.iter().any(|t| p.starts_with(t)));
    let known: BTreeSet<ModPath> = modules.keys().cloned().collect();
    let mut graph = Graph::default();
    for (path, module) in &modules {
        if module.inline_in.is_none() {
            graph.edges.entry(name(path)).or_default();
        }
    }
    for (path, module) in &modules {
        let from = file_of(&modules, path);
        for reference in &module.refs {
            let written = through_alias(path, module, reference, &known);
            let Some(abs) = absolute(path, &written, &known) else {
                continue;
            };
            let Some(target) = locate(&modules, &known, &abs, 0) else {
                continue;
            };
            let to = file_of(&modules, &target);
            if to != from {
                graph
                    .edges
                    .entry(name(&from))
                    .or_default()
                    .entry(name(&to))
                    .or_insert_with(|| reference.at.clone());
            }
        }
    }
    graph
}

/// A path written in code whose first name a `use` brought in, read
/// through that `use`; any other path as written.
fn through_alias(
    at: &ModPath,
    module: &Module,
    reference: &Ref,
    known: &BTreeSet<ModPath>,
) -> Vec<String> {
    let first = &reference.path[0];
    let mut child = at.clone();
    child.push(first.clone());
    if !reference.in_code
        || matches!(first.as_str(), "crate" | "super" | "self")
        || known.contains(&child)
    {
        return reference.path.clone();
    }
    match module.aliases.get(first) {
        Some(path) => path.iter().chain(&reference.path[1..]).cloned().collect(),
        None => reference.path.clone(),
    }
}

fn name(path: &ModPath) -> String {
    std::iter::once("crate")
        .chain(path.iter().map(String::as_str))
        .collect::<Vec<_>>()
        .join("::")
}

fn collect_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries.flatten() {
        let p = entry.path();
        if p.is_dir() {
            collect_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// `dir/a/b.rs` and `dir/a/b/mod.rs` are `a::b`; `dir/lib.rs` and
/// `dir/main.rs` the root; `dir/bin/…` is another crate: `None`.
fn module_path(dir: &Path, file: &Path) -> Option<ModPath> {
    let rel = file.strip_prefix(dir).ok()?;
    let mut parts: Vec<String> = rel
        .iter()
        .map(|s| s.to_string_lossy().into_owned())
        .collect();
    if parts.first().is_some_and(|p| p == "bin") {
        return None;
    }
    let last = parts.pop()?;
    let stem = last.strip_suffix(".rs")?;
    if parts.is_empty() && (stem == "lib" || stem == "main") {
        return Some(Vec::new());
    }
    if stem != "mod" {
        parts.push(stem.to_owned());
    }
    Some(parts)
}

#[derive(Debug, Default)]
struct Module {
    /// `Some(file module)` for an inline `mod x { … }`.
    inline_in: Option<ModPath>,
    /// Names defined here (items and modules).
    defines: BTreeSet<String>,
    /// Re-exports: a name and the path it stands for.
    reexports: BTreeMap<String, Vec<String>>,
    /// Glob re-exports: `pub use x::*`.
    glob_reexports: Vec<Vec<String>>,
    /// Every name a `use` brings in here, and its path.
    aliases: BTreeMap<String, Vec<String>>,
    /// Paths named here.
    refs: Vec<Ref>,
}

#[derive(Debug)]
struct Ref {
    path: Vec<String>,
    /// Written in code (`token::scopes(…)`), not in a `use`: a path that
    /// starts with a name a `use` brought in is read through that `use`.
    in_code: bool,
    at: String,
}

fn file_of(modules: &BTreeMap<ModPath, Module>, path: &ModPath) -> ModPath {
    let mut p = path.clone();
    while let Some(parent) = modules.get(&p).and_then(|m| m.inline_in.clone()) {
        p = parent;
    }
    p
}

/// A path as written in module `at`, made absolute (below `crate`);
/// `None` for another crate's.
fn absolute(at: &ModPath, path: &[String], known: &BTreeSet<ModPath>) -> Option<Vec<String>> {
    let mut base = at.clone();
    let mut rest = path;
    match rest.first().map(String::as_str) {
        Some("crate") => {
            base.clear();
            rest = &rest[1..];
        }
        Some("self") => rest = &rest[1..],
        Some("super") => {
            while rest.first().is_some_and(|s| s == "super") {
                base.pop()?;
                rest = &rest[1..];
            }
        }
        Some(first) => {
            let mut child = at.clone();
            child.push(first.to_owned());
            if !known.contains(&child) {
                return None;
            }
        }
        None => return None,
    }
    base.extend(rest.iter().cloned());
    Some(base)
}

/// The module that defines what `abs` names, following re-exports.
fn locate(
    modules: &BTreeMap<ModPath, Module>,
    known: &BTreeSet<ModPath>,
    abs: &[String],
    depth: usize,
) -> Option<ModPath> {
    let split = (0..=abs.len())
        .rev()
        .find(|&i| known.contains(&abs[..i].to_vec()))?;
    let module: ModPath = abs[..split].to_vec();
    let Some(item) = abs.get(split) else {
        return Some(module);
    };
    if depth > 16 {
        return Some(module);
    }
    let m = &modules[&module];
    if m.defines.contains(item) {
        return Some(module);
    }
    if let Some(target) = m.reexports.get(item) {
        let mut next = absolute(&module, target, known)?;
        next.extend(abs[split + 1..].iter().cloned());
        return locate(modules, known, &next, depth + 1).or(Some(module));
    }
    for glob in &m.glob_reexports {
        let Some(mut next) = absolute(&module, glob, known) else {
            continue;
        };
        next.push(item.clone());
        if let Some(found) = locate(modules, known, &next, depth + 1) {
            if modules[&found].defines.contains(item) || found != next[..next.len() - 1] {
                return Some(found);
            }
        }
    }
    Some(module)
}

// ---- lexing -------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    PathSep,
    Punct(char),
}

/// Identifiers, `::` and punctuation with their line numbers; comments,
/// strings, characters, lifetimes and numbers dropped.
fn lex(text: &str) -> Vec<(Tok, usize)> {
    let c: Vec<char> = text.chars().collect();
    let (mut i, mut line, mut out) = (0, 1, Vec::new());
    let count_lines =
        |from: usize, to: usize, c: &[char]| c[from..to].iter().filter(|&&x| x == '\n').count();
    while i < c.len() {
        let ch = c[i];
        let next = c.get(i + 1).copied();
        if ch == '\n' {
            line += 1;
            i += 1;
        } else if ch.is_whitespace() {
            i += 1;
        } else if ch == '/' && next == Some('/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if ch == '/' && next == Some('*') {
            let (start, mut depth) = (i, 0);
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            line += count_lines(start, i.min(c.len()), &c);
        } else if ch == '"' {
            let start = i;
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
            line += count_lines(start, i.min(c.len()), &c);
        } else if ch == '\'' {
            if next == Some('\\') {
                i += 2;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                // A lifetime or label.
                i += 1;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
            }
        } else if ch.is_ascii_digit() {
            while i < c.len()
                && (c[i].is_alphanumeric()
                    || c[i] == '_'
                    || c[i] == '.' && c.get(i + 1).is_some_and(char::is_ascii_digit))
            {
                i += 1;
            }
        } else if ch.is_alphabetic() || ch == '_' {
            let start = i;
            while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                i += 1;
            }
            let word: String = c[start..i].iter().collect();
            // Raw strings and byte/C strings: r"…", r#"…"#, b"…", br#"…"#, c"…".
            if matches!(word.as_str(), "r" | "br" | "cr")
                && matches!(c.get(i), Some('"') | Some('#'))
            {
                let mut hashes = 0;
                while c.get(i) == Some(&'#') {
                    hashes += 1;
                    i += 1;
                }
                if c.get(i) == Some(&'"') {
                    let start = i;
                    i += 1;
                    loop {
                        if i >= c.len() {
                            break;
                        }
                        if c[i] == '"' && (0..hashes).all(|k| c.get(i + 1 + k) == Some(&'#')) {
                            i += 1 + hashes;
                            break;
                        }
                        i += 1;
                    }
                    line += count_lines(start, i.min(c.len()), &c);
                    continue;
                }
                // r#ident: a raw identifier.
                let start = i;
                while i < c.len() && (c[i].is_alphanumeric() || c[i] == '_') {
                    i += 1;
                }
                out.push((Tok::Ident(c[start..i].iter().collect()), line));
                continue;
            }
            if matches!(word.as_str(), "b" | "c") && matches!(c.get(i), Some('"') | Some('\'')) {
                continue; // the literal is skipped next round
            }
            out.push((Tok::Ident(word), line));
        } else if ch == ':' && next == Some(':') {
            out.push((Tok::PathSep, line));
            i += 2;
        } else {
            out.push((Tok::Punct(ch), line));
            i += 1;
        }
    }
    out
}

// ---- scanning -------------------------------------------------------------

const ITEM_KEYWORDS: &[&str] = &[
    "struct",
    "enum",
    "union",
    "trait",
    "type",
    "fn",
    "const",
    "static",
    "mod",
    "macro_rules",
];

/// One brace level: an inline module, a `#[cfg(test)]` item, or any other.
enum Frame {
    Module,
    Test,
    Other,
}

fn scan_file(
    path: &ModPath,
    shown: &str,
    toks: &[(Tok, usize)],
    modules: &mut BTreeMap<ModPath, Module>,
    test_only: &mut BTreeSet<ModPath>,
) {
    modules.entry(path.clone()).or_default();
    let mut current = path.clone();
    let mut frames: Vec<Frame> = Vec::new();
    // Brace depth of the current module's body (0 for the file).
    let mut module_depths: Vec<usize> = vec![0];
    let mut pending_test = false;
    let mut pending_mod: Option<String> = None;
    let ident = |i: usize| match toks.get(i) {
        Some((Tok::Ident(s), _)) => Some(s.as_str()),
        _ => None,
    };
    let punct = |i: usize, p: char| matches!(toks.get(i), Some((Tok::Punct(q), _)) if *q == p);
    let mut i = 0;
    while i < toks.len() {
        let line = toks[i].1;
        let at_module_level = frames.len() == *module_depths.last().unwrap_or(&0);
        // #[cfg(test)]
        if punct(i, '#')
            && punct(i + 1, '[')
            && ident(i + 2) == Some("cfg")
            && punct(i + 3, '(')
            && ident(i + 4) == Some("test")
            && punct(i + 5, ')')
        {
            pending_test = true;
            i += 7;
            continue;
        }
        match &toks[i].0 {
            Tok::Punct('{') => {
                let frame = if pending_test {
                    Frame::Test
                } else if let Some(m) = pending_mod.take() {
                    current.push(m);
                    let entry = modules.entry(current.clone()).or_default();
                    entry.inline_in = Some(current[..current.len() - 1].to_vec());
                    module_depths.push(frames.len() + 1);
                    Frame::Module
                } else {
                    Frame::Other
                };
                pending_test = false;
                pending_mod = None;
                frames.push(frame);
                if matches!(frames.last(), Some(Frame::Test)) {
                    // Skip the whole item.
                    let mut depth = 1;
                    i += 1;
                    while i < toks.len() && depth > 0 {
                        match toks[i].0 {
                            Tok::Punct('{') => depth += 1,
                            Tok::Punct('}') => depth -= 1,
                            _ => {}
                        }
                        i += 1;
                    }
                    frames.pop();
                    continue;
                }
            }
            Tok::Punct('}') => {
                if let Some(Frame::Module) = frames.pop() {
                    current.pop();
                    module_depths.pop();
                }
            }
            Tok::Punct(';') => {
                if let Some(m) = pending_mod.take() {
                    if pending_test {
                        let mut child = current.clone();
                        child.push(m);
                        test_only.insert(child);
                    }
                }
                pending_test = false;
            }
            Tok::Ident(word)
                if word == "use"
                    && !matches!(toks.get(i.wrapping_sub(1)), Some((Tok::PathSep, _))) =>
            {
                let reexport = at_module_level && is_visible(toks, i);
                let end = (i..toks.len())
                    .find(|&j| punct(j, ';'))
                    .unwrap_or(toks.len());
                if !pending_test {
                    let mut items = Vec::new();
                    let mut j = i + 1;
                    use_tree(toks, &mut j, end, Vec::new(), &mut items);
                    let module = modules.entry(current.clone()).or_default();
                    for item in items {
                        let at = format!("{shown}:{line}");
                        if let UseItem::Name(path, alias) = &item {
                            module.aliases.insert(alias.clone(), path.clone());
                        }
                        match item {
                            UseItem::Name(path, alias) if reexport => {
                                module.reexports.insert(alias, path);
                            }
                            UseItem::Glob(path) if reexport => module.glob_reexports.push(path),
                            UseItem::Name(path, _) | UseItem::Glob(path) => module.refs.push(Ref {
                                path,
                                at,
                                in_code: false,
                            }),
                        }
                    }
                }
                pending_test = false;
                i = end + 1;
                continue;
            }
            Tok::Ident(word) if at_module_level && ITEM_KEYWORDS.contains(&word.as_str()) => {
                let name_at = if word == "macro_rules" { i + 2 } else { i + 1 };
                if let Some(name) = ident(name_at) {
                    if !(word == "const" && (name == "fn" || punct(name_at + 1, '{')))
                        && name != "_"
                    {
                        modules
                            .entry(current.clone())
                            .or_default()
                            .defines
                            .insert(name.to_owned());
                    }
                    if word == "mod" {
                        pending_mod = Some(name.to_owned());
                    }
                }
            }
            Tok::Ident(word)
                if word != "Self"
                    && matches!(toks.get(i + 1), Some((Tok::PathSep, _)))
                    && !matches!(
                        toks.get(i.wrapping_sub(1)),
                        Some((Tok::PathSep | Tok::Punct('.'), _))
                    )
                    && !pending_test =>
            {
                // A path written out in code: crate::a::b, token::scopes.
                let mut path = vec![word.clone()];
                let mut j = i + 1;
                while matches!(toks.get(j), Some((Tok::PathSep, _))) {
                    match ident(j + 1) {
                        Some(s) => path.push(s.to_owned()),
                        None => break,
                    }
                    j += 2;
                }
                // `pub(crate)` / `pub(super)` are visibilities, not paths.
                if path.len() > 1 {
                    modules.entry(current.clone()).or_default().refs.push(Ref {
                        path,
                        at: format!("{shown}:{line}"),
                        in_code: true,
                    });
                }
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
}

/// Whether the `use` at `i` has a visibility (`pub`, `pub(crate)`, …).
fn is_visible(toks: &[(Tok, usize)], i: usize) -> bool {
    let mut j = i;
    if j >= 1 && toks[j - 1].0 == Tok::Punct(')') {
        while j > 0 && toks[j - 1].0 != Tok::Punct('(') {
            j -= 1;
        }
        j = j.saturating_sub(1);
    }
    j >= 1 && toks[j - 1].0 == Tok::Ident("pub".to_owned())
}

enum UseItem {
    /// A path and the name it is known by here.
    Name(Vec<String>, String),
    /// `path::*`.
    Glob(Vec<String>),
}

/// Parses a use tree from `*j` up to `end`, each leaf prefixed by `prefix`.
fn use_tree(
    toks: &[(Tok, usize)],
    j: &mut usize,
    end: usize,
    prefix: Vec<String>,
    out: &mut Vec<UseItem>,
) {
    let mut path = prefix;
    if matches!(toks.get(*j), Some((Tok::PathSep, _))) {
        // ::std::… : another crate.
        path.push("::".to_owned());
        *j += 1;
    }
    while *j < end {
        match &toks[*j].0 {
            Tok::Ident(s) if s == "as" => {
                *j += 1;
                if let Some((Tok::Ident(alias), _)) = toks.get(*j) {
                    let alias = alias.clone();
                    *j += 1;
                    push_name(path, Some(alias), out);
                }
                return;
            }
            Tok::Ident(s) => {
                path.push(s.clone());
                *j += 1;
                if !matches!(toks.get(*j), Some((Tok::PathSep, _))) {
                    if matches!(toks.get(*j), Some((Tok::Ident(a), _)) if a == "as") {
                        continue;
                    }
                    push_name(path, None, out);
                    return;
                }
                *j += 1;
            }
            Tok::Punct('*') => {
                *j += 1;
                out.push(UseItem::Glob(path));
                return;
            }
            Tok::Punct('{') => {
                *j += 1;
                loop {
                    match toks.get(*j).map(|t| &t.0) {
                        Some(Tok::Punct('}')) => {
                            *j += 1;
                            return;
                        }
                        Some(Tok::Punct(',')) => *j += 1,
                        None => return,
                        _ if *j >= end => return,
                        _ => use_tree(toks, j, end, path.clone(), out),
                    }
                }
            }
            _ => return,
        }
    }
}

fn push_name(mut path: Vec<String>, alias: Option<String>, out: &mut Vec<UseItem>) {
    if path.first().is_some_and(|s| s == "::") {
        return;
    }
    // `a::b::{self}` names the module `a::b`.
    if path.last().is_some_and(|s| s == "self") && path.len() > 1 {
        path.pop();
    }
    let Some(last) = path.last().cloned() else {
        return;
    };
    out.push(UseItem::Name(path, alias.unwrap_or(last)));
}

// ---- the checks -----------------------------------------------------------

#[test]
fn ffi_src_has_no_import_cycle() {
    assert_acyclic(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}

#[test]
fn the_reader_sees_cycles_through_uses_paths_and_reexports() {
    let dir = std::env::temp_dir().join(format!("import_graph_{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("grant")).unwrap();
    let write = |p: &str, s: &str| fs::write(dir.join(p), s).unwrap();
    write(
        "lib.rs",
        "mod a;\nmod b;\nmod c;\nmod grant;\npub use c::Thing;\n",
    );
    write(
        "a.rs",
        "// use crate::c::Nothing;\nuse crate::{b::{self, B}, grant::Code};\npub struct A;\n",
    );
    write(
        "b.rs",
        "use crate::grant;\npub struct B;\n\
         fn f() -> crate::Thing { let _ = \"crate::a::A\"; grant::code::Code; todo!() }\n",
    );
    write(
        "c.rs",
        "pub struct Thing;\n#[cfg(test)]\nmod tests {\n    use crate::a::A;\n}\n",
    );
    write("grant/mod.rs", "mod code;\npub use code::*;\n");
    write("grant/code.rs", "pub struct Code;\n");
    let graph = read(&dir);
    assert_eq!(
        graph.imports_of("crate::a"),
        ["crate::b", "crate::grant::code"]
    );
    assert_eq!(
        graph.imports_of("crate::b"),
        ["crate::c", "crate::grant", "crate::grant::code"]
    );
    assert!(
        graph.imports_of("crate::c").is_empty(),
        "{}",
        graph.render()
    );
    assert!(graph.imports_of("crate").is_empty() && graph.imports_of("crate::grant").is_empty());
    assert!(graph.knots().is_empty());
    // c -> a closes a -> b -> c.
    write(
        "c.rs",
        "pub struct Thing;\nfn g() { let _ = super::a::A; }\n",
    );
    let graph = read(&dir);
    assert_eq!(graph.knots(), [["crate::a", "crate::b", "crate::c"]]);
    let report = graph.cycles_report();
    assert!(
        report.contains("-> crate::b") && report.contains("c.rs:2") && report.contains("b.rs:3"),
        "{report}"
    );
    let _ = fs::remove_dir_all(&dir);
}
