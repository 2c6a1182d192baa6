//! Native harness check: the library links and its identity constants agree
//! with Cargo.toml, so the page header and the CLI print the same product.
#![cfg(not(target_arch = "wasm32"))]

use brokerlab::version::{PRODUCT_NAME, TAGLINE, VERSION};

#[test]
fn identity_matches_the_package() {
    assert_eq!(PRODUCT_NAME, env!("CARGO_PKG_NAME"));
    assert_eq!(VERSION, env!("CARGO_PKG_VERSION"));
    assert!(
        TAGLINE.ends_with('.'),
        "the tagline is one sentence: {TAGLINE:?}"
    );
    assert!(TAGLINE.len() < 100, "the tagline must fit on one line");
}
