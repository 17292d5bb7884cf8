//! Content sniffing: the real type of an upload, from its first bytes (magic numbers).
//!
//! Only the types SPEC §7 accepts are recognised; anything else is refused, whatever the client declared.
//! The declared file name (and content type) is consulted only where the content itself cannot tell two
//! accepted types apart: an OLE compound file is either a `.doc` or an `.xls`, and a ZIP archive whose
//! first entries do not show `word/` or `xl/` may be a `.docx`, an `.xlsx` or a plain `.zip`.
//!
//! A small table rather than the `infer` crate: `infer` tells a DOC from an XLS by parsing the whole
//! compound file (through `cfb`), which needs the complete upload in memory while uploads are streamed and
//! sniffed from their first bytes only; its WebM check wants more than 256 bytes; and it would add two
//! dependencies for thirteen signatures that fit on a page and are tested here.

use chat_domain::attachment::AttachmentKind;

/// How many leading bytes [`detect`] looks at. Fewer is fine for a short file.
pub const SNIFF_LEN: usize = 8 * 1024;

/// An accepted type, found in the content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DetectedType {
    /// The MIME type stored and served.
    pub mime: &'static str,
    /// Its family, which sets the size limit.
    pub kind: AttachmentKind,
}

/// Why content was not recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SniffError {
    /// The content is not one of the accepted types (whatever its name says).
    #[error(
        "the content is not an accepted type (JPEG, PNG, GIF, WebP, MP4, WebM, MOV, PDF, DOC, DOCX, XLS, XLSX, ZIP)"
    )]
    NotAccepted,
    /// An Office 97-2003 file whose name and declared type say neither Word nor Excel.
    #[error("an Office 97-2003 file must be named .doc or .xls")]
    AmbiguousOffice,
}

const JPEG: DetectedType = DetectedType { mime: "image/jpeg", kind: AttachmentKind::Image };
const PNG: DetectedType = DetectedType { mime: "image/png", kind: AttachmentKind::Image };
const GIF: DetectedType = DetectedType { mime: "image/gif", kind: AttachmentKind::Image };
const WEBP: DetectedType = DetectedType { mime: "image/webp", kind: AttachmentKind::Image };
const MP4: DetectedType = DetectedType { mime: "video/mp4", kind: AttachmentKind::Video };
const WEBM: DetectedType = DetectedType { mime: "video/webm", kind: AttachmentKind::Video };
const MOV: DetectedType = DetectedType { mime: "video/quicktime", kind: AttachmentKind::Video };
const PDF: DetectedType = DetectedType { mime: "application/pdf", kind: AttachmentKind::File };
const DOC: DetectedType = DetectedType { mime: "application/msword", kind: AttachmentKind::File };
const XLS: DetectedType = DetectedType { mime: "application/vnd.ms-excel", kind: AttachmentKind::File };
const DOCX: DetectedType = DetectedType {
    mime: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    kind: AttachmentKind::File,
};
const XLSX: DetectedType = DetectedType {
    mime: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    kind: AttachmentKind::File,
};
const ZIP: DetectedType = DetectedType { mime: "application/zip", kind: AttachmentKind::File };

const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const PNG_MAGIC: &[u8] = &[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
const ZIP_LOCAL_HEADER: &[u8] = b"PK\x03\x04";

/// ISO base media brands that mean MP4 video (major or compatible brand of the `ftyp` box).
const MP4_BRANDS: &[&[u8; 4]] = &[
    b"isom", b"iso2", b"iso3", b"iso4", b"iso5", b"iso6", b"iso8", b"iso9", b"mp41", b"mp42", b"avc1", b"M4V ",
    b"M4VH", b"M4VP", b"dash", b"mmp4", b"MSNV", b"f4v ",
];
/// Major brands of ISO files that are not video (audio, still images) even when MP4 brands are compatible.
const NOT_VIDEO_BRANDS: &[&[u8; 4]] =
    &[b"M4A ", b"M4B ", b"M4P ", b"heic", b"heix", b"mif1", b"msf1", b"avif", b"avis"];
/// Top-level atoms a QuickTime file made before `ftyp` existed may start with.
const OLD_QUICKTIME_ATOMS: &[&[u8; 4]] = &[b"moov", b"mdat", b"wide", b"pnot"];

/// The type of content from its first bytes (up to [`SNIFF_LEN`]), its declared file name and declared
/// content type. The declared name and type never make unrecognised content acceptable.
pub fn detect(prefix: &[u8], file_name: &str, declared_type: Option<&str>) -> Result<DetectedType, SniffError> {
    let head = &prefix[..prefix.len().min(SNIFF_LEN)];
    if head.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(JPEG)
    } else if head.starts_with(PNG_MAGIC) {
        Ok(PNG)
    } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
        Ok(GIF)
    } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
        Ok(WEBP)
    } else if head.starts_with(b"%PDF-") {
        Ok(PDF)
    } else if head.starts_with(&[0x1A, 0x45, 0xDF, 0xA3]) {
        if is_webm(head) { Ok(WEBM) } else { Err(SniffError::NotAccepted) }
    } else if head.starts_with(OLE_MAGIC) {
        office_97(file_name, declared_type)
    } else if head.starts_with(ZIP_LOCAL_HEADER) || head.starts_with(b"PK\x05\x06") {
        Ok(zip_family(head, file_name))
    } else if head.len() >= 12 && &head[4..8] == b"ftyp" {
        iso_media(head)
    } else if head.len() >= 8 && OLD_QUICKTIME_ATOMS.iter().any(|atom| &head[4..8] == *atom) {
        Ok(MOV)
    } else {
        Err(SniffError::NotAccepted)
    }
}

/// The lower-case extension of a file name (after its last `.`), ignoring any path the client sent.
fn extension(file_name: &str) -> Option<String> {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let (_, ext) = base.rsplit_once('.')?;
    Some(ext.trim().to_ascii_lowercase())
}

/// An EBML file is WebM when its `DocType` element (id `0x4282`) says `webm` (Matroska is not accepted).
fn is_webm(head: &[u8]) -> bool {
    let window = &head[..head.len().min(128)];
    window.windows(2).enumerate().any(|(at, id)| {
        id == [0x42, 0x82] && window.get(at + 2..(at + 11).min(window.len())).is_some_and(|w| contains(w, b"webm"))
    })
}

/// An OLE compound file: Word or Excel 97-2003, told apart by the declared name, else the declared type.
fn office_97(file_name: &str, declared_type: Option<&str>) -> Result<DetectedType, SniffError> {
    match extension(file_name).as_deref() {
        Some("doc") => return Ok(DOC),
        Some("xls") => return Ok(XLS),
        Some(_) | None => {}
    }
    let declared = declared_type.map(|t| t.split(';').next().unwrap_or(t).trim().to_ascii_lowercase());
    match declared.as_deref() {
        Some("application/msword") => Ok(DOC),
        Some("application/vnd.ms-excel") => Ok(XLS),
        _ => Err(SniffError::AmbiguousOffice),
    }
}

/// A ZIP archive: DOCX or XLSX when its leading entries show `word/` or `xl/`; when they only show
/// `[Content_Types].xml` (or nothing telling), the declared `.docx`/`.xlsx` extension picks; else ZIP.
fn zip_family(head: &[u8], file_name: &str) -> DetectedType {
    let names = zip_entry_names(head);
    if names.iter().any(|n| n.starts_with(b"word/")) {
        return DOCX;
    }
    if names.iter().any(|n| n.starts_with(b"xl/")) {
        return XLSX;
    }
    match extension(file_name).as_deref() {
        Some("docx") => DOCX,
        Some("xlsx") => XLSX,
        _ => ZIP,
    }
}

/// The names of the ZIP local file headers that start within `head` (found by signature, so entries
/// with data descriptors, whose sizes are not in the header, do not stop the scan).
fn zip_entry_names(head: &[u8]) -> Vec<&[u8]> {
    let mut names = Vec::new();
    let mut at = 0;
    while let Some(found) = find(&head[at..], ZIP_LOCAL_HEADER) {
        let start = at + found;
        if let Some(len) = head.get(start + 26..start + 28).map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])))
            && let Some(name) = head.get(start + 30..start + 30 + len)
        {
            names.push(name);
        }
        at = start + ZIP_LOCAL_HEADER.len();
    }
    names
}

/// An ISO base media file (`ftyp` box): QuickTime for brand `qt  `, MP4 for an MP4 brand, else refused.
fn iso_media(head: &[u8]) -> Result<DetectedType, SniffError> {
    let major = &head[8..12];
    if major == b"qt  " {
        return Ok(MOV);
    }
    if NOT_VIDEO_BRANDS.iter().any(|b| major == *b) {
        return Err(SniffError::NotAccepted);
    }
    let box_size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let end = box_size.clamp(12, head.len());
    let compatible = head.get(16..end).unwrap_or_default().chunks_exact(4);
    let brands: Vec<&[u8]> = std::iter::once(major).chain(compatible).collect();
    if brands.iter().any(|b| MP4_BRANDS.iter().any(|m| b == *m)) {
        Ok(MP4)
    } else if brands.contains(&&b"qt  "[..]) {
        Ok(MOV)
    } else {
        Err(SniffError::NotAccepted)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

/// Tiny synthetic files with the right leading bytes for every accepted type (tests and examples).
#[cfg(any(test, feature = "testing"))]
pub mod samples {
    /// A JPEG start (SOI, APP0 JFIF).
    pub fn jpeg() -> Vec<u8> {
        let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10];
        b.extend_from_slice(b"JFIF\0rest of the image");
        b
    }
    /// A PNG signature and IHDR start.
    pub fn png() -> Vec<u8> {
        let mut b = super::PNG_MAGIC.to_vec();
        b.extend_from_slice(b"\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01");
        b
    }
    /// A GIF89a header.
    pub fn gif() -> Vec<u8> {
        b"GIF89a\x01\0\x01\0\0\0\0;".to_vec()
    }
    /// A RIFF WEBP header.
    pub fn webp() -> Vec<u8> {
        b"RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\0\0\0\0".to_vec()
    }
    /// An `ftyp` box with brand `isom`.
    pub fn mp4() -> Vec<u8> {
        b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2\0\0\0\x08free".to_vec()
    }
    /// An EBML header with DocType `webm`.
    pub fn webm() -> Vec<u8> {
        let mut b = vec![0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0xF7, 0x81, 0x01];
        b.extend_from_slice(&[0x42, 0x82, 0x84]);
        b.extend_from_slice(b"webm");
        b.extend_from_slice(&[0x42, 0x87, 0x81, 0x04]);
        b
    }
    /// An `ftyp` box with brand `qt  `.
    pub fn mov() -> Vec<u8> {
        b"\0\0\0\x14ftypqt  \0\0\x02\0qt  \0\0\0\x08wide".to_vec()
    }
    /// A PDF header.
    pub fn pdf() -> Vec<u8> {
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".to_vec()
    }
    /// An OLE compound file header (DOC or XLS, by name).
    pub fn ole() -> Vec<u8> {
        let mut b = super::OLE_MAGIC.to_vec();
        b.extend_from_slice(&[0; 24]);
        b
    }
    /// A ZIP whose first entries are `entries`, stored empty.
    pub fn zip_with(entries: &[&str]) -> Vec<u8> {
        let mut b = Vec::new();
        for name in entries {
            b.extend_from_slice(super::ZIP_LOCAL_HEADER);
            b.extend_from_slice(&[0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
            b.extend_from_slice(&(name.len() as u16).to_le_bytes());
            b.extend_from_slice(&[0, 0]);
            b.extend_from_slice(name.as_bytes());
        }
        b.extend_from_slice(b"PK\x05\x06");
        b.extend_from_slice(&[0; 18]);
        b
    }
    /// A DOCX start.
    pub fn docx() -> Vec<u8> {
        zip_with(&["[Content_Types].xml", "_rels/.rels", "word/document.xml"])
    }
    /// An XLSX start.
    pub fn xlsx() -> Vec<u8> {
        zip_with(&["[Content_Types].xml", "_rels/.rels", "xl/workbook.xml"])
    }
    /// A plain ZIP.
    pub fn zip() -> Vec<u8> {
        zip_with(&["notes.txt"])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mime(bytes: &[u8], name: &str) -> Result<&'static str, SniffError> {
        detect(bytes, name, None).map(|t| t.mime)
    }

    #[test]
    fn every_accepted_type_is_recognised_from_its_content() {
        let cases: [(Vec<u8>, &str, &str); 13] = [
            (samples::jpeg(), "a.jpg", "image/jpeg"),
            (samples::png(), "a.png", "image/png"),
            (samples::gif(), "a.gif", "image/gif"),
            (samples::webp(), "a.webp", "image/webp"),
            (samples::mp4(), "a.mp4", "video/mp4"),
            (samples::webm(), "a.webm", "video/webm"),
            (samples::mov(), "a.mov", "video/quicktime"),
            (samples::pdf(), "a.pdf", "application/pdf"),
            (samples::ole(), "a.doc", "application/msword"),
            (samples::ole(), "a.XLS", "application/vnd.ms-excel"),
            (samples::docx(), "a.docx", DOCX.mime),
            (samples::xlsx(), "a.xlsx", XLSX.mime),
            (samples::zip(), "a.zip", "application/zip"),
        ];
        for (bytes, name, expected) in cases {
            assert_eq!(mime(&bytes, name), Ok(expected), "{name}");
            assert_eq!(AttachmentKind::of_mime(expected), Some(detect(&bytes, name, None).map(|t| t.kind).unwrap()));
        }
    }

    #[test]
    fn the_content_decides_not_the_name() {
        assert_eq!(mime(&samples::png(), "photo.jpg"), Ok("image/png"));
        assert_eq!(mime(&samples::pdf(), "report.docx"), Ok("application/pdf"));
        assert_eq!(mime(&samples::docx(), "budget.xlsx"), Ok(DOCX.mime));
    }

    #[test]
    fn a_spoofed_name_does_not_make_html_or_scripts_acceptable() {
        for (bytes, name) in [
            (&b"<!doctype html><script>alert(1)</script>"[..], "evil.png"),
            (b"<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>", "evil.gif"),
            (b"MZ\x90\0\x03\0\0\0", "setup.pdf"),
            (b"", "empty.jpg"),
            (b"\xFF\xD8", "short.jpg"),
        ] {
            assert_eq!(detect(bytes, name, Some("image/png")), Err(SniffError::NotAccepted), "{name}");
        }
    }

    #[test]
    fn office_97_files_need_a_telling_name_or_declared_type() {
        assert_eq!(mime(&samples::ole(), "old"), Err(SniffError::AmbiguousOffice));
        assert_eq!(mime(&samples::ole(), "slides.ppt"), Err(SniffError::AmbiguousOffice));
        assert_eq!(detect(&samples::ole(), "old", Some("application/vnd.ms-excel; x=y")).map(|t| t.mime), Ok(XLS.mime));
        assert_eq!(detect(&samples::ole(), "old", Some("application/msword")).map(|t| t.mime), Ok(DOC.mime));
    }

    #[test]
    fn a_zip_without_telling_entries_follows_its_extension() {
        let bare = samples::zip_with(&["[Content_Types].xml", "_rels/.rels", "docProps/app.xml"]);
        assert_eq!(mime(&bare, "letter.docx"), Ok(DOCX.mime));
        assert_eq!(mime(&bare, "sheet.xlsx"), Ok(XLSX.mime));
        assert_eq!(mime(&bare, "bundle.zip"), Ok(ZIP.mime));
        assert_eq!(mime(&bare, "noext"), Ok(ZIP.mime));
        assert_eq!(mime(&samples::zip(), "dir/../x.docx"), Ok(DOCX.mime));
    }

    #[test]
    fn matroska_audio_and_still_images_in_video_containers_are_refused() {
        let mut mkv = samples::webm();
        let at = find(&mkv, b"webm").unwrap();
        mkv.splice(at..at + 4, b"matr".iter().copied());
        assert_eq!(mime(&mkv, "a.webm"), Err(SniffError::NotAccepted));
        assert_eq!(mime(b"\0\0\0\x18ftypM4A \0\0\0\0M4A isom", "a.mp4"), Err(SniffError::NotAccepted));
        assert_eq!(mime(b"\0\0\0\x18ftypheic\0\0\0\0mif1heic", "a.mp4"), Err(SniffError::NotAccepted));
        assert_eq!(mime(b"\0\0\0\x18ftypabcd\0\0\0\0efghijkl", "a.mp4"), Err(SniffError::NotAccepted));
    }

    #[test]
    fn mp4_is_recognised_by_a_compatible_brand_and_old_quicktime_by_its_first_atom() {
        assert_eq!(mime(b"\0\0\0\x18ftypXYZW\0\0\0\0mp42avc1", "a.mp4"), Ok("video/mp4"));
        assert_eq!(mime(b"\0\0\0\x14ftypXYZW\0\0\0\0qt  ", "a.mov"), Ok("video/quicktime"));
        assert_eq!(mime(b"\0\0\x01\0moov\0\0\0\x6cmvhd", "a.mov"), Ok("video/quicktime"));
    }
}
