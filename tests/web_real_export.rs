//! The page's "Export for a real broker", driven as a person would: pick a
//! scenario and a real broker, press the button. The page fetches the
//! export's templates from beside it (`export-templates/`, which Trunk
//! copies from `src/export/templates/`); this test's server does not have
//! them, so `window.fetch` is replaced for the test by one that serves the
//! templates the command line compiles in ([`Templates::built_in`]) and
//! records what was asked for. The download is caught on its way out (the
//! page hands a Blob to `URL.createObjectURL` and clicks a link; the test
//! records both instead of saving a file), unzipped, and compared file by
//! file with `brokerlab::export::export` (what `brokerlab export-real` calls)
//! for the same scenario, target and origin; natively, `tests/export_zip.rs`
//! compares the zip with the command's directory.
#![cfg(target_arch = "wasm32")]

#[path = "support/dom.rs"]
mod dom;
#[path = "support/unzip.rs"]
mod unzip;

use brokerlab::config::Scenario;
use brokerlab::export::{export, Origin, Target, Templates};
use brokerlab::ui::App;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::Element;
use yew::AppHandle;

wasm_bindgen_test_configure!(run_in_browser);

/// Installed before a test's clicks: every Blob given an object URL and every
/// link clicked (its `download` name) are recorded on `window`, and the click
/// saves nothing. `undo` puts the browser's own functions back.
const CATCH: &str = "
    const w = window;
    w.__caught = { blobs: [], names: [], url: URL.createObjectURL, click: HTMLAnchorElement.prototype.click };
    URL.createObjectURL = function (blob) { w.__caught.blobs.push(blob); return w.__caught.url.call(URL, blob); };
    HTMLAnchorElement.prototype.click = function () { w.__caught.names.push(this.download); };
";
const UNDO: &str = "
    URL.createObjectURL = window.__caught.url;
    HTMLAnchorElement.prototype.click = window.__caught.click;
";
/// Replaces `window.fetch` for a test: `export-templates/NAME` answers with
/// `files[NAME]`, or 404 for a name not there or equal to `missing`; every
/// URL asked for is recorded. [`UNSERVE`] puts the browser's fetch back.
const SERVE: &str = "
    const w = window;
    w.__served = { fetch: w.fetch, urls: [] };
    w.fetch = function (url) {
        w.__served.urls.push(String(url));
        const [dir, name] = String(url).split('/');
        const found = dir === 'export-templates' && name !== missing && Object.hasOwn(files, name);
        return Promise.resolve(found ? new Response(files[name]) : new Response('not here', { status: 404 }));
    };
";
const UNSERVE: &str = "window.fetch = window.__served.fetch; return window.__served.urls;";

/// What was caught, as `[names, blobs]`.
const CAUGHT: &str = "return [window.__caught.names, window.__caught.blobs];";

fn run_js(source: &str) -> wasm_bindgen::JsValue {
    js_sys::Function::new_no_args(source)
        .call0(&wasm_bindgen::JsValue::NULL)
        .expect("the test's script runs")
}

/// The downloads offered since [`CATCH`]: (file name, bytes).
async fn downloads() -> Vec<(String, Vec<u8>)> {
    let caught: js_sys::Array = run_js(CAUGHT).unchecked_into();
    let names: js_sys::Array = caught.get(0).unchecked_into();
    let blobs: js_sys::Array = caught.get(1).unchecked_into();
    assert_eq!(names.length(), blobs.length(), "one link per blob");
    let mut out = Vec::new();
    for i in 0..names.length() {
        let blob: web_sys::Blob = blobs.get(i).unchecked_into();
        let buffer = wasm_bindgen_futures::JsFuture::from(blob.array_buffer())
            .await
            .expect("the blob reads");
        let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
        out.push((names.get(i).as_string().unwrap(), bytes));
    }
    out
}

/// Serves the built-in templates to the page's fetch, all but `missing`.
fn serve_templates(missing: &str) {
    let files = js_sys::Object::new();
    let all = Templates::built_in();
    for target in Target::ALL {
        for name in target.template_files() {
            let text = all.text(name).expect("a built-in template");
            js_sys::Reflect::set(&files, &(*name).into(), &text.into()).unwrap();
        }
    }
    js_sys::Function::new_with_args("files, missing", SERVE)
        .call2(&wasm_bindgen::JsValue::NULL, &files, &missing.into())
        .expect("the stub installs");
}

/// Puts the browser's fetch back; the URLs the page asked for.
fn unserve_templates() -> Vec<String> {
    let urls: js_sys::Array = run_js(UNSERVE).unchecked_into();
    urls.iter().filter_map(|u| u.as_string()).collect()
}

/// How many downloads were offered since [`CATCH`].
fn offered() -> u32 {
    let caught: js_sys::Array = run_js(CAUGHT).unchecked_into();
    caught.get(0).unchecked_into::<js_sys::Array>().length()
}

/// The page's alerts about exports. Others may show while these tests run
/// (the stored log's lease is still held by an earlier test's app), so
/// they are left out.
fn export_notices(root: &Element) -> Vec<String> {
    dom::all_by_role(root, "alert")
        .into_iter()
        .map(|(_, text)| text)
        .filter(|text| !text.contains("stored log"))
        .collect()
}

async fn mount() -> (Element, AppHandle<App>) {
    let root = dom::fresh_root();
    let app = yew::Renderer::<App>::with_root(root.clone()).render();
    yew::scheduler::flush().await;
    (root, app)
}

async fn pick(root: &Element, label: &str, value: &str) {
    dom::change(&dom::get_by_label(root, label), value);
    yew::scheduler::flush().await;
}

/// The zip's entries equal `export`'s files for `scenario` from `origin`
/// and `target`, under `brokerlab-STEM-TARGET/`.
fn assert_same_files(origin: Origin<'_>, target: Target, scenario: &Scenario, zip: &[u8]) {
    let stem = origin.stem(&scenario.name);
    let files = export(scenario, origin, target, &Templates::built_in()).expect("it runs");
    let entries = unzip::unzip(zip);
    let dir = format!("brokerlab-{stem}-{}", target.name());
    let names: Vec<String> = entries.iter().map(|e| e.path.clone()).collect();
    let want: Vec<String> = files.iter().map(|f| format!("{dir}/{}", f.path)).collect();
    assert_eq!(names, want, "the same files, in export's order");
    for (e, f) in entries.iter().zip(&files) {
        assert_eq!(e.text, f.text, "{}", e.path);
        assert_eq!(e.executable, f.executable, "{}: executable", e.path);
    }
}

#[wasm_bindgen_test]
async fn export_for_a_real_broker_downloads_the_files_export_real_writes() {
    let (root, app) = mount().await;
    let button = dom::get_by_role(&root, "button", "Export for a real broker");
    let purpose = button
        .get_attribute("aria-describedby")
        .and_then(|id| dom::document().get_element_by_id(&id))
        .expect("the button is described by a sentence");
    let purpose = purpose.text_content().unwrap();
    assert!(
        purpose.contains("real RabbitMQ, NATS JetStream or Kafka"),
        "{purpose}"
    );
    run_js(CATCH);
    serve_templates("");

    pick(&root, "Scenario", "nack_requeue").await;
    pick(&root, "Real broker", "rabbitmq").await;
    dom::click(&root, "Export for a real broker");
    dom::until("the RabbitMQ zip", || offered() == 1).await;
    pick(&root, "Scenario", "log_at_least_once").await;
    pick(&root, "Real broker", "kafka").await;
    dom::click(&root, "Export for a real broker");
    dom::until("the Kafka zip", || offered() == 2).await;

    let got = downloads().await;
    run_js(UNDO);
    let urls = unserve_templates();
    let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        [
            "brokerlab-nack_requeue-rabbitmq.zip",
            "brokerlab-log_at_least_once-kafka.zip"
        ]
    );
    let fetched: Vec<String> = [Target::Rabbitmq, Target::Kafka]
        .iter()
        .flat_map(|t| t.template_files())
        .map(|n| format!("export-templates/{n}"))
        .collect();
    assert_eq!(urls, fetched, "each press fetches its broker's templates");
    let queue = Scenario::from_json(include_str!("../scenarios/nack_requeue.json")).unwrap();
    let from_queue = Origin::PageFile {
        name: "nack_requeue.json",
    };
    assert_same_files(from_queue, Target::Rabbitmq, &queue, &got[0].1);
    let log = Scenario::from_json(include_str!("../scenarios/log_at_least_once.json")).unwrap();
    let from_log = Origin::PageFile {
        name: "log_at_least_once.json",
    };
    assert_same_files(from_log, Target::Kafka, &log, &got[1].1);
    assert_eq!(export_notices(&root), Vec::<String>::new());
    app.destroy();
}

#[wasm_bindgen_test]
async fn the_playgrounds_export_says_it_came_from_the_page() {
    let (root, app) = mount().await;
    run_js(CATCH);
    serve_templates("");
    dom::click(&root, "Export for a real broker");
    dom::until("the playground's zip", || offered() == 1).await;
    let got = downloads().await;
    run_js(UNDO);
    unserve_templates();
    assert_eq!(got[0].0, "brokerlab-playground-rabbitmq.zip");
    let readme = unzip::unzip(&got[0].1)
        .into_iter()
        .find(|e| e.path.ends_with("/README.md"))
        .expect("a README");
    assert!(
        readme
            .text
            .contains("Exported from the brokerlab page: the playground's own setup"),
        "{}",
        readme.text
    );
    assert!(
        !readme.text.contains("export-real"),
        "no command it did not run"
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_template_that_cannot_be_loaded_is_named_and_nothing_downloads() {
    let (root, app) = mount().await;
    run_js(CATCH);
    serve_templates("common.py");
    pick(&root, "Scenario", "nack_requeue").await;
    dom::click(&root, "Export for a real broker");
    let alerts = || export_notices(&root);
    dom::until("the notice", || !alerts().is_empty()).await;
    let got = downloads().await;
    run_js(UNDO);
    unserve_templates();
    assert!(got.is_empty(), "no download");
    assert_eq!(
        alerts(),
        ["The export's file export-templates/common.py could not be loaded (HTTP 404), so nothing was downloaded."]
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_broker_that_cannot_run_the_scenario_says_why_and_downloads_nothing() {
    let (root, app) = mount().await;
    run_js(CATCH);
    pick(&root, "Scenario", "nack_requeue").await;
    pick(&root, "Real broker", "kafka").await;
    dom::click(&root, "Export for a real broker");
    yew::scheduler::flush().await;
    let got = downloads().await;
    run_js(UNDO);
    assert!(got.is_empty(), "no download");
    assert_eq!(
        export_notices(&root),
        ["This scenario cannot run on Kafka: broker: a queue scenario exports to rabbitmq only."]
    );
    app.destroy();
}
