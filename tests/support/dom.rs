//! Browser-test helpers shared by the `web_*` suites: a fresh root element to
//! render into, and lookups by accessible role and name (how a person, or a
//! screen reader, finds a control), never by CSS class.

use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlElement};

pub fn document() -> Document {
    web_sys::window()
        .expect("tests run in a browser window")
        .document()
        .expect("the window has a document")
}

/// A new, empty `<div>` appended to `<body>`, for one test to render into.
pub fn fresh_root() -> Element {
    let doc = document();
    let root = doc.create_element("div").expect("create a root div");
    doc.body()
        .expect("a body")
        .append_child(&root)
        .expect("append root");
    root
}

/// The accessible name of an element: `aria-label` if set, else its text.
pub fn accessible_name(el: &Element) -> String {
    if let Some(label) = el.get_attribute("aria-label") {
        return label;
    }
    el.dyn_ref::<HtmlElement>()
        .map(|h| h.inner_text())
        .or_else(|| el.text_content())
        .unwrap_or_default()
        .trim()
        .to_string()
}

/// CSS selectors for the elements that carry each implicit ARIA role we use.
fn role_selector(role: &str) -> String {
    let implicit = match role {
        "heading" => "h1, h2, h3, h4, h5, h6",
        "button" => "button",
        "banner" => "header",
        "main" => "main",
        "status" => "output",
        _ => "",
    };
    let explicit = format!("[role=\"{role}\"]");
    if implicit.is_empty() {
        explicit
    } else {
        format!("{implicit}, {explicit}")
    }
}

/// All elements under `root` with `role`, as (element, accessible name).
pub fn all_by_role(root: &Element, role: &str) -> Vec<(Element, String)> {
    let list = root
        .query_selector_all(&role_selector(role))
        .expect("valid role selector");
    (0..list.length())
        .filter_map(|i| list.item(i))
        .filter_map(|node| node.dyn_into::<Element>().ok())
        .map(|el| {
            let name = accessible_name(&el);
            (el, name)
        })
        .collect()
}

/// The one element with `role` whose accessible name is `name`; panics with
/// the names that do exist, so a failing test says what it saw.
pub fn get_by_role(root: &Element, role: &str, name: &str) -> Element {
    let found = all_by_role(root, role);
    let names: Vec<String> = found.iter().map(|(_, n)| n.clone()).collect();
    let mut matching = found.into_iter().filter(|(_, n)| n == name);
    let first = matching
        .next()
        .unwrap_or_else(|| panic!("no {role} named {name:?}; saw {names:?}"));
    assert!(
        matching.next().is_none(),
        "more than one {role} named {name:?}"
    );
    first.0
}
