//! The core's modules import one way (`../shared/DESIGN.md`: endpoint →
//! grant → validator → values): no module of `src/` reaches, through its
//! `use` lines and paths, back to itself.

#[path = "../ffi/tests/import_graph.rs"]
mod import_graph;

#[test]
fn src_has_no_import_cycle() {
    import_graph::assert_acyclic(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"));
}
