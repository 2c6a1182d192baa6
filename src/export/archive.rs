//! The export as one zip file: what the page's "Export for a real broker"
//! downloads. The entries are the same files `brokerlab export-real` writes,
//! under one directory, deflated with miniz_oxide (the compressor the share
//! links already use, so the page carries no second one); rawzip lays out the
//! archive (local headers, data descriptors, the central directory); the crc
//! crate computes each entry's CRC-32.

use super::{export, ExportError, ExportFile, Origin, Target, Templates};
use crate::config::Scenario;

/// The zip format's CRC-32 (IEEE 802.3), bit by bit: no lookup table in the
/// bundle (see `Cargo.toml`).
const CRC_32: crc::Crc<u32, crc::NoTable> =
    crc::Crc::<u32, crc::NoTable>::new(&crc::CRC_32_ISO_HDLC);

/// miniz_oxide's level: 9 is its best, as for share links. The files are a
/// few KB of text, so the time does not matter.
const DEFLATE_LEVEL: u8 = 9;

/// `scenario` exported to `target` as [`export`] makes it (the files
/// `brokerlab export-real` writes), every file under one directory
/// `brokerlab-STEM-TARGET/` of a zip (STEM from `origin`): the zip's file
/// name and its bytes. A scenario the target cannot run is refused with the
/// field and the reason.
pub fn zipped(
    scenario: &Scenario,
    origin: Origin<'_>,
    target: Target,
    templates: &Templates,
) -> Result<(String, Vec<u8>), ExportError> {
    let files = export(scenario, origin, target, templates)?;
    let stem = origin.stem(&scenario.name);
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let dir = format!("brokerlab-{safe}-{}", target.name());
    Ok((format!("{dir}.zip"), zip_archive(&dir, &files)?))
}

/// `files` as a zip archive, each under `dir/`, `run` with mode 0755 and the
/// rest 0644 (so `./run` works after unzipping).
pub fn zip_archive(dir: &str, files: &[ExportFile]) -> Result<Vec<u8>, ExportError> {
    let fail = |e: &dyn std::fmt::Display| ExportError {
        path: format!("{dir}.zip"),
        reason: format!("cannot build the zip: {e}"),
    };
    let mut out = Vec::new();
    let mut archive = rawzip::ZipArchiveWriter::new(&mut out);
    for f in files {
        let data = f.text.as_bytes();
        let packed = miniz_oxide::deflate::compress_to_vec(data, DEFLATE_LEVEL);
        let (mut entry, _) = archive
            .new_file(format!("{dir}/{}", f.path))
            .compression_method(rawzip::CompressionMethod::DEFLATE)
            .unix_permissions(if f.executable { 0o755 } else { 0o644 })
            .start()
            .map_err(|e| fail(&e))?;
        std::io::Write::write_all(&mut entry, &packed).map_err(|e| fail(&e))?;
        let size = u64::try_from(data.len()).expect("a file of a few KB");
        let descriptor = rawzip::DataDescriptorOutput::new(CRC_32.checksum(data), size);
        entry.finish(descriptor).map_err(|e| fail(&e))?;
    }
    archive.finish().map_err(|e| fail(&e))?;
    Ok(out)
}
