//! The web app's entry point. Trunk builds this binary to wasm (`data-bin` in
//! index.html); natively it is an empty program so `cargo build` stays simple.
// A binary is a crate of its own: it keeps the library's 70-line limit (clippy.toml).
#![warn(clippy::too_many_lines)]

#[cfg(target_arch = "wasm32")]
fn main() {
    brokerlab::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {}
