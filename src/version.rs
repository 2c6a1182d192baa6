//! Product identity, in one place so the page header, the CLI's `--version` and
//! the tests agree on the exact words.

/// The product name as it appears in the page header and in the CLI.
pub const PRODUCT_NAME: &str = "brokerlab";

/// The one-line description under the header.
pub const TAGLINE: &str =
    "A message-broker playground: watch messages get delivered, lost and duplicated.";

/// The crate version, taken from Cargo.toml at compile time.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
