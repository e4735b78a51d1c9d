//! The `stca2-probe` command line.
fn main() {}
