//! The layers of the crate, checked: a module may use its own layer and the layers below it,
//! never one above (docs/ARCHITECTURE.md draws the map). And only the data layer touches the
//! tables: everything else changes state through `db::models`, where the rules are.
//!
//! The check reads `crate::…` paths in the source (comments left out): the compiler knows the
//! same graph but cannot be asked for it from a test.

use std::collections::BTreeMap;
use std::path::Path;

/// Lowest first. A module not listed fails the test, so a new one is placed deliberately.
const LAYERS: &[(&str, &[&str])] = &[
    // Values and rules with no I/O: what every other layer speaks.
    (
        "core",
        &[
            "domain", "error", "diff", "password", "paths", "charts", "recent",
        ],
    ),
    // The database: connections, schema, and the functions that change state under the rules.
    ("data", &["db", "search"]),
    // What drives the data layer without a request: the release worker and the seeders.
    ("jobs", &["worker", "demo", "bench_seed"]),
    // HTTP: handlers, extractors, middleware, the page frame and its filters.
    (
        "web",
        &[
            "state",
            "auth",
            "middleware",
            "metrics",
            "routes",
            "api",
            "filters",
        ],
    ),
    // The binary: flags, settings, start-up.
    ("app", &["startup", "cli", "config", "main", "lib"]),
];

/// The modules allowed to name `db::schema`: the data layer itself, and the bulk loader of
/// `seed-bench`, which writes rows at a rate no rule-holding function could. Not `search`: it
/// knows no table of the app, only the `search::Names` a list hands it.
const TABLE_WRITERS: &[&str] = &["db", "bench_seed"];

fn layer_of(module: &str) -> usize {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
        .unwrap_or_else(|| panic!("module `{module}` is in no layer: add it to LAYERS"))
}

/// Each source file's top-level module and its code without comments.
fn sources() -> Vec<(String, String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(Path::new(env!("CARGO_MANIFEST_DIR")).join("src"))
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let module = rel
                .split('/')
                .next()
                .unwrap()
                .trim_end_matches(".rs")
                .to_owned();
            let code = without_comments(&std::fs::read_to_string(&path).unwrap());
            out.push((rel, module, code));
        }
    }
    out
}

/// `text` with each line cut at `//` (comments and doc comments).
fn without_comments(text: &str) -> String {
    text.lines()
        .map(|line| line.find("//").map_or(line, |at| &line[..at]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level modules named as `crate::x` in `code`.
fn uses(code: &str) -> Vec<String> {
    code.match_indices("crate::")
        .map(|(at, _)| {
            code[at + "crate::".len()..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect::<String>()
        })
        .filter(|m| !m.is_empty())
        .collect()
}

#[test]
fn no_module_uses_a_layer_above_its_own() {
    let mut faults = BTreeMap::new();
    for (file, module, code) in sources() {
        let own = layer_of(&module);
        for used in uses(&code) {
            if used == module {
                continue;
            }
            if layer_of(&used) > own {
                faults
                    .entry(file.clone())
                    .or_insert_with(Vec::new)
                    .push(format!(
                        "{used} ({} layer, above {})",
                        LAYERS[layer_of(&used)].0,
                        LAYERS[own].0
                    ));
            }
        }
    }
    assert!(faults.is_empty(), "upward imports: {faults:#?}");
}

#[test]
fn only_the_data_layer_touches_the_tables() {
    let touching: Vec<String> = sources()
        .into_iter()
        .filter(|(_, module, code)| {
            !TABLE_WRITERS.contains(&module.as_str())
                && (code.contains("db::schema") || code.contains("schema::"))
        })
        .map(|(file, _, _)| file)
        .collect();
    assert!(
        touching.is_empty(),
        "these change or read tables outside db::models: {touching:?}"
    );
}

#[test]
fn the_check_sees_an_upward_import() {
    // The scanner itself: a data-layer file naming the routes is a fault, a comment is not.
    let code = "use crate::routes::layout::Layout;\n// crate::startup in a comment";
    assert_eq!(uses(&without_comments(code)), vec!["routes".to_owned()]);
    assert!(layer_of("routes") > layer_of("db"));
}
