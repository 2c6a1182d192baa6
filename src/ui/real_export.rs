//! "Export for a real broker": the page's scenario as a zip of
//! `brokerlab export-real`'s files (see [`crate::export`]), downloaded.

use crate::config::Scenario;
use crate::export::{default_target, export, zip_archive};

/// What the button is for, said once beside it.
pub const PURPOSE: &str =
    "Run this scenario on a real RabbitMQ, NATS or Kafka and check what happened with brokerlab check.";

/// Builds the zip for the scenario `json` (the page's current one) and
/// offers it as a download. The error is a sentence for a notice.
pub fn download_real_export(json: &str) -> Result<(), String> {
    let scenario =
        Scenario::from_json(json).map_err(|e| format!("This scenario cannot be exported: {e}"))?;
    let target = default_target(&scenario);
    let stem: String = scenario
        .name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let files = export(&scenario, &stem, target)
        .map_err(|e| format!("This scenario cannot run on {}: {e}", target.name()))?;
    let dir = format!("brokerlab-{stem}-{}", target.name());
    let bytes = zip_archive(&dir, &files).map_err(|e| e.to_string())?;
    download_bytes(&format!("{dir}.zip"), &bytes)
        .map_err(|_| "The browser refused the download.".to_string())
}

/// Offers `bytes` as a zip file download.
fn download_bytes(file_name: &str, bytes: &[u8]) -> Result<(), wasm_bindgen::JsValue> {
    let array = js_sys::Uint8Array::from(bytes);
    let parts = js_sys::Array::of1(&array);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/zip");
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&parts, &options)?;
    super::controls::offer(file_name, &blob)
}
