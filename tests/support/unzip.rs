//! Reads a zip from the page's "Export for a real broker" back into files, so
//! a native test (against `brokerlab export-real`'s directory) and a browser
//! test (against `brokerlab::export::export`) can compare them. It uses the
//! crates the page writes with: rawzip for the archive, miniz_oxide to
//! inflate, and checks every entry's CRC-32.

/// One file of the archive: its path, its text, and whether it is executable.
#[derive(Debug, PartialEq, Eq)]
pub struct Unzipped {
    pub path: String,
    pub text: String,
    pub executable: bool,
}

/// Every entry of `bytes`, in the archive's order. Panics, naming the
/// entry, on anything malformed: this is for tests.
pub fn unzip(bytes: &[u8]) -> Vec<Unzipped> {
    let archive = rawzip::ZipArchive::from_slice(bytes).expect("a zip archive");
    let mut entries = archive.entries();
    let mut out = Vec::new();
    while let Some(entry) = entries.next_entry().expect("a central directory entry") {
        let path = String::from_utf8(entry.file_path().as_ref().to_vec()).expect("a UTF-8 path");
        let data = archive
            .get_entry(entry.wayfinder())
            .expect("the entry's data");
        let raw = match entry.compression_method() {
            rawzip::CompressionMethod::DEFLATE => {
                miniz_oxide::inflate::decompress_to_vec(data.data()).expect("deflate data")
            }
            rawzip::CompressionMethod::STORE => data.data().to_vec(),
            other => panic!("{path}: unexpected compression {other:?}"),
        };
        assert_eq!(rawzip::crc32(&raw), entry.crc32(), "{path}: CRC-32");
        let text = String::from_utf8(raw).expect("UTF-8 text");
        let executable = entry.mode().permissions() & 0o111 != 0;
        out.push(Unzipped {
            path,
            text,
            executable,
        });
    }
    out
}
