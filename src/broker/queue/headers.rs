//! RabbitMQ's `headers` exchange match (3.10): a binding's arguments against
//! a message's `headers`.
//!
//! - `x-match` = `all` (the default): every argument must be a header with
//!   the same value; `any`: at least one must be. The same value means the
//!   same type too: the integer `1` is not the text `"1"`, and `true` is
//!   neither (RabbitMQ compares the AMQP type class, then the value). A binding with no
//!   arguments to compare matches every message with `all` and none with
//!   `any`.
//! - Arguments whose names start with `x-` are left out of the comparison
//!   (they are settings, like `x-match` itself), unless `x-match` is
//!   `all-with-x` or `any-with-x` (new in 3.10), which compare them too.
//!   `x-match` itself is never compared.
//! - Headers the binding does not name do not matter.

use crate::config::Headers;

/// Whether a message carrying `headers` matches a binding with `arguments`.
/// `arguments` are validated: `x-match` is one of the four values or absent.
pub fn matches(arguments: &Headers, headers: &Headers) -> bool {
    let mode = arguments.get("x-match").and_then(|v| v.as_text());
    let mode = mode.unwrap_or("all");
    let with_x = mode.ends_with("-with-x");
    let mut compared = arguments
        .iter()
        .filter(|(name, _)| *name != "x-match" && (with_x || !name.starts_with("x-")))
        .map(|(name, value)| headers.get(name) == Some(value));
    if mode.starts_with("any") {
        compared.any(|equal| equal)
    } else {
        compared.all(|equal| equal)
    }
}

#[cfg(test)]
mod tests {
    use super::matches;
    use crate::config::{HeaderValue, Headers};

    fn table(pairs: &[(&str, &str)]) -> Headers {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), (*v).into()))
            .collect()
    }

    #[test]
    fn values_match_only_with_their_type() {
        let typed = |v: HeaderValue| Headers::from([("n".to_string(), v)]);
        let (text, int, boolean) = (
            typed("1".into()),
            typed(HeaderValue::Int(1)),
            typed(HeaderValue::Bool(true)),
        );
        assert!(matches(&int, &int) && matches(&text, &text) && matches(&boolean, &boolean));
        assert!(!matches(&int, &text), "1 is not \"1\"");
        assert!(!matches(&text, &int), "\"1\" is not 1");
        assert!(!matches(&int, &boolean) && !matches(&boolean, &int));
        assert!(!matches(&int, &typed(HeaderValue::Int(2))));
    }

    #[test]
    fn all_needs_every_argument_and_any_needs_one() {
        let args = table(&[("format", "pdf"), ("type", "report")]);
        let any = table(&[("x-match", "any"), ("format", "pdf"), ("type", "report")]);
        let both = table(&[("format", "pdf"), ("type", "report"), ("extra", "1")]);
        let one = table(&[("format", "pdf"), ("type", "log")]);
        assert!(matches(&args, &both), "all: extra headers do not matter");
        assert!(!matches(&args, &one), "all: a differing value fails");
        assert!(matches(&any, &one), "any: one equal value is enough");
        assert!(!matches(&any, &table(&[("format", "zip")])));
        assert!(!matches(&any, &Headers::new()));
        assert!(!matches(&args, &Headers::new()));
    }

    #[test]
    fn x_arguments_are_left_out_unless_with_x() {
        let all = table(&[("x-tenant", "a"), ("format", "pdf")]);
        let msg = table(&[("format", "pdf"), ("x-tenant", "b")]);
        assert!(matches(&all, &msg), "x-tenant is not compared");
        let all_with_x = table(&[("x-match", "all-with-x"), ("x-tenant", "a")]);
        assert!(!matches(&all_with_x, &msg));
        let any_with_x = table(&[("x-match", "any-with-x"), ("x-tenant", "b")]);
        assert!(matches(&any_with_x, &msg));
        let any_only_x = table(&[("x-match", "any"), ("x-tenant", "b")]);
        assert!(
            !matches(&any_only_x, &msg),
            "nothing left to compare: any fails"
        );
        let all_only_x = table(&[("x-match", "all"), ("x-tenant", "a")]);
        assert!(
            matches(&all_only_x, &Headers::new()),
            "nothing to compare: all holds"
        );
    }
}
