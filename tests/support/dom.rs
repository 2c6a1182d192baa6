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

/// The accessible name of an element: the text of the elements its
/// `aria-labelledby` names, else `aria-label`, else its own text.
pub fn accessible_name(el: &Element) -> String {
    if let Some(ids) = el.get_attribute("aria-labelledby") {
        let doc = document();
        let parts: Vec<String> = ids
            .split_whitespace()
            .filter_map(|id| doc.get_element_by_id(id)?.text_content())
            .collect();
        return parts.join(" ").trim().to_string();
    }
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
        "textbox" => "input[type=\"text\"]",
        "combobox" => "select",
        "region" => "section[aria-label], section[aria-labelledby]",
        "link" => "a[href]",
        "alert" => "",
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

/// The form control (`input` or `select`) inside the `<label>` whose caption
/// (its first `<span>`) reads `label`: how a person finds "Broker" or "Seed".
#[allow(dead_code)]
pub fn get_by_label(root: &Element, label: &str) -> Element {
    let labels = root.query_selector_all("label").expect("label selector");
    let mut seen = Vec::new();
    for i in 0..labels.length() {
        let Some(el) = labels.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
            continue;
        };
        let caption = el
            .query_selector("span")
            .ok()
            .flatten()
            .and_then(|s| s.text_content())
            .unwrap_or_default();
        if caption.trim() == label {
            return el
                .query_selector("input, select")
                .ok()
                .flatten()
                .unwrap_or_else(|| panic!("label {label:?} has no control"));
        }
        seen.push(caption);
    }
    panic!("no control labelled {label:?}; saw {seen:?}")
}

/// The value shown for the term `name` in a `<dl>` of live counters.
#[allow(dead_code)]
pub fn counter(root: &Element, name: &str) -> u64 {
    let terms = root.query_selector_all("dt").expect("dt selector");
    for i in 0..terms.length() {
        let Some(dt) = terms.item(i).and_then(|n| n.dyn_into::<Element>().ok()) else {
            continue;
        };
        if dt.text_content().unwrap_or_default().trim() == name {
            let dd = dt.next_element_sibling().expect("a dd follows its dt");
            let text = dd.text_content().unwrap_or_default();
            return text
                .trim()
                .parse()
                .unwrap_or_else(|_| panic!("counter {name} shows {text:?}"));
        }
    }
    panic!("no counter named {name:?}")
}

/// Clicks the button named `name`.
#[allow(dead_code)]
pub fn click(root: &Element, name: &str) {
    get_by_role(root, "button", name)
        .dyn_into::<HtmlElement>()
        .expect("a button is an HtmlElement")
        .click();
}

/// Sets a text field or select to `value` and fires `change`, as a person would.
#[allow(dead_code)]
pub fn change(control: &Element, value: &str) {
    if let Some(input) = control.dyn_ref::<web_sys::HtmlInputElement>() {
        input.set_value(value);
    } else if let Some(select) = control.dyn_ref::<web_sys::HtmlSelectElement>() {
        select.set_value(value);
    } else {
        panic!("not a form control: {}", control.tag_name());
    }
    let event = web_sys::Event::new_with_event_init_dict("change", &{
        let init = web_sys::EventInit::new();
        init.set_bubbles(true);
        init
    })
    .expect("create change event");
    control.dispatch_event(&event).expect("dispatch change");
}

/// The inline messages (`role="alert"`) inside the group named `name`, e.g.
/// a client's settings row, "Settings of c1".
#[allow(dead_code)]
pub fn alerts_in_group(root: &Element, name: &str) -> Vec<String> {
    let group = get_by_role(root, "group", name);
    all_by_role(&group, "alert")
        .into_iter()
        .map(|(_, text)| text)
        .collect()
}

/// The text of the single element with `role`.
#[allow(dead_code)]
pub fn text_of_role(root: &Element, role: &str) -> String {
    let found = all_by_role(root, role);
    assert_eq!(found.len(), 1, "exactly one {role}");
    found[0].0.text_content().unwrap_or_default()
}

/// Resolves at the next animation frame with its timestamp (ms): lets the
/// browser run its own work (rendering, IndexedDB callbacks) without sleeping.
#[allow(dead_code)]
pub async fn next_frame() -> f64 {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .expect("a window")
            .request_animation_frame(&resolve)
            .expect("requestAnimationFrame");
    });
    wasm_bindgen_futures::JsFuture::from(promise)
        .await
        .expect("frame")
        .as_f64()
        .expect("a timestamp")
}

/// A frame benchmark's samples: the wall ms between `n + 1` animation
/// frames in a row, sorted (for [`percentile`]).
#[allow(dead_code)]
pub async fn frame_gaps_ms(n: usize) -> Vec<f64> {
    let mut last = next_frame().await;
    let mut gaps_ms = Vec::with_capacity(n);
    for _ in 0..n {
        let now = next_frame().await;
        gaps_ms.push(now - last);
        last = now;
    }
    gaps_ms.sort_by(|a, b| a.total_cmp(b));
    gaps_ms
}

/// The `p` quantile (0 to 1) of sorted, non-empty samples.
#[allow(dead_code)]
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i]
}

/// Awaits frames until `ready` holds; panics with `what` after 300 frames.
#[allow(dead_code)]
pub async fn until(what: &str, mut ready: impl FnMut() -> bool) {
    for _ in 0..300 {
        yew::scheduler::flush().await;
        if ready() {
            return;
        }
        next_frame().await;
    }
    panic!("gave up waiting for {what}");
}

/// Renders the playground app into a fresh root and lets Yew finish its
/// first render.
#[allow(dead_code)]
pub async fn mount_app() -> (Element, yew::AppHandle<brokerlab::ui::App>) {
    let root = fresh_root();
    let app = yew::Renderer::<brokerlab::ui::App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    (root, app)
}

/// Clicks the button named `name`, then lets Yew render what it changed.
#[allow(dead_code)]
pub async fn click_and_render(root: &Element, name: &str) {
    click(root, name);
    yew::scheduler::flush().await;
}

/// After a page was destroyed: waits (frame by frame) until its lease on
/// the page's IndexedDB database is gone, as a reload would find it.
#[allow(dead_code)]
pub async fn closed_page_lets_go() {
    lease_free(brokerlab::ui::persist::DB_NAME).await;
}

/// Waits (frame by frame) until no page holds the lease on database `name`.
#[allow(dead_code)]
pub async fn lease_free(name: &str) {
    use brokerlab::storage::idb::{IdbConfig, IdbStore};
    for _ in 0..300 {
        if let Ok(store) = IdbStore::open(IdbConfig::new(name)).await {
            store.close().await;
            return;
        }
        next_frame().await;
    }
    panic!("a closed page kept the lease on {name}");
}
