//! RabbitMQ's `topic` exchange match: a routing key and a binding pattern are
//! words separated by `.`; in the pattern `*` stands for exactly one word and
//! `#` for zero or more.
//!
//! `orders.*` matches `orders.eu` but neither `orders` nor `orders.eu.paid`;
//! `orders.#` matches all three; `#.paid` matches `paid` and `orders.eu.paid`.

/// Whether `key` matches the binding `pattern`. Bounded: a `#` retries at most
/// once per remaining key word, and patterns are validated to a few words.
pub fn matches(pattern: &str, key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = if key.is_empty() {
        Vec::new()
    } else {
        key.split('.').collect()
    };
    match_words(&pattern, &key)
}

fn match_words(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        // `#` eats 0, 1, 2... words; the rest of the pattern must match what is left.
        Some((&"#", rest)) => (0..=key.len()).any(|n| match_words(rest, &key[n..])),
        Some((&word, rest)) => match key.split_first() {
            Some((&k, key_rest)) => (word == "*" || word == k) && match_words(rest, key_rest),
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[test]
    fn star_is_one_word_and_hash_is_any_number() {
        assert!(matches("a.*", "a.b"));
        assert!(!matches("a.*", "a"));
        assert!(!matches("a.*", "a.b.c"));
        assert!(matches("a.#", "a"));
        assert!(matches("a.#", "a.b.c"));
        assert!(matches("#.z", "z"));
        assert!(matches("#.z", "a.b.z"));
        assert!(!matches("#.z", "z.a"));
        assert!(matches("#", ""));
        assert!(matches("a.#.z", "a.z"));
        assert!(matches("a.#.z", "a.b.c.z"));
        assert!(!matches("a.b", "a.c"));
        assert!(matches("*.b.*", "a.b.c"));
    }
}
