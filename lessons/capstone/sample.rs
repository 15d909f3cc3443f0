//! A sample data set made on the spot, nothing downloaded: a real PDF, a PNG, a video-like MP4
//! container, a docx and an xlsx written as Office Open XML, a text file, and a stream of JSON events.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};

use super::Paths;

/// The video-like file is big on purpose: far above Kafka's 1 MB message limit.
pub const VIDEO_BYTES: usize = 24 * 1024 * 1024;
pub const EVENTS: usize = 200;

pub fn write(paths: &Paths) -> Result<Vec<String>> {
    let dir = &paths.source;
    std::fs::create_dir_all(dir.join("office"))
        .with_context(|| t!("Failed to create {path}", path = dir.display()))?;
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("report.pdf", pdf("Kafka workshop: collected through Kafka, stored byte for byte.")),
        ("diagram.png", png(320, 200)?),
        ("clip.mp4", video(VIDEO_BYTES)),
        ("office/notes.docx", docx("Notes from the Kafka workshop.")?),
        ("office/budget.xlsx", xlsx()?),
        ("readme.txt", b"Files of any type and size travel through Kafka in chunks.\n".to_vec()),
    ];
    let mut names = Vec::new();
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes)
            .with_context(|| t!("Failed to write the sample {name}", name))?;
        names.push(name.to_string());
    }
    let mut events = String::new();
    let users = ["alice", "bob", "carol"];
    for i in 0..EVENTS {
        let kind = ["page_view", "add_to_cart", "checkout"][i % 3];
        let line = serde_json::json!({ "id": format!("evt-{i:05}"), "type": kind, "user": users[i % users.len()], "seq": i });
        events.push_str(&line.to_string());
        events.push('\n');
    }
    // Events of the learner's own are never replaced by the sample's.
    match std::fs::OpenOptions::new().write(true).create_new(true).open(&paths.events) {
        Ok(mut file) => std::io::Write::write_all(&mut file, events.as_bytes())
            .with_context(|| t!("Failed to write {path}", path = paths.events.display()))?,
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(err) => {
            return Err(err)
                .with_context(|| t!("Failed to write {path}", path = paths.events.display()))
        }
    }
    Ok(names)
}

/// A one-page PDF with its cross-reference table computed, so readers open it without repair.
pub fn pdf(text: &str) -> Vec<u8> {
    let content = format!("BT /F1 18 Tf 72 720 Td ({text}) Tj ET");
    let objects = [
        "<< /Type /Catalog /Pages 2 0 R >>".to_string(),
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>".to_string(),
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>".to_string(),
        format!("<< /Length {} >>\nstream\n{content}\nendstream", content.len()),
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>".to_string(),
    ];
    let mut out = b"%PDF-1.4\n".to_vec();
    let mut offsets = Vec::new();
    for (i, body) in objects.iter().enumerate() {
        offsets.push(out.len());
        out.extend_from_slice(format!("{} 0 obj\n{body}\nendobj\n", i + 1).as_bytes());
    }
    let xref = out.len();
    out.extend_from_slice(
        format!("xref\n0 {}\n0000000000 65535 f \n", objects.len() + 1).as_bytes(),
    );
    for offset in offsets {
        out.extend_from_slice(format!("{offset:010} 00000 n \n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "trailer\n<< /Size {} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n",
            objects.len() + 1
        )
        .as_bytes(),
    );
    out
}

pub fn png(width: u32, height: u32) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let pixels: Vec<u8> = (0..height)
        .flat_map(|y| {
            (0..width).flat_map(move |x| [(x * 255 / width) as u8, (y * 255 / height) as u8, 160])
        })
        .collect();
    encoder
        .write_header()
        .context(t!("Failed to write a PNG header"))?
        .write_image_data(&pixels)
        .context(t!("Failed to write PNG pixels"))?;
    Ok(out)
}

/// An MP4 container (`ftyp`, then an `mdat` box) filled with incompressible pseudo-random bytes.
pub fn video(size: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&[0, 0, 0, 24]);
    out.extend_from_slice(b"ftypisom\0\0\x02\0isomiso2");
    let mdat = size.saturating_sub(out.len());
    out.extend_from_slice(&(mdat as u32).to_be_bytes());
    out.extend_from_slice(b"mdat");
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    while out.len() < size {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        out.extend_from_slice(&state.to_le_bytes()[..8.min(size - out.len())]);
    }
    out
}

fn zip(entries: &[(&str, String)]) -> Result<Vec<u8>> {
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, text) in entries {
        writer.start_file(*name, options).context(t!("Failed to start a zip entry"))?;
        writer.write_all(text.as_bytes()).context(t!("Failed to write a zip entry"))?;
    }
    Ok(writer.finish().context(t!("Failed to finish a zip"))?.into_inner())
}

const XML: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;

pub fn docx(text: &str) -> Result<Vec<u8>> {
    let types = format!(
        r#"{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>"#
    );
    let rels = format!(
        r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>"#
    );
    let document = format!(
        r#"{XML}<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>{text}</w:t></w:r></w:p></w:body></w:document>"#
    );
    let document_rels = format!(
        r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>"#
    );
    zip(&[
        ("[Content_Types].xml", types),
        ("_rels/.rels", rels),
        ("word/document.xml", document),
        ("word/_rels/document.xml.rels", document_rels),
    ])
}

pub fn xlsx() -> Result<Vec<u8>> {
    let types = format!(
        r#"{XML}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#
    );
    let rels = format!(
        r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
    );
    let workbook = format!(
        r#"{XML}<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Budget" sheetId="1" r:id="rId1"/></sheets></workbook>"#
    );
    let workbook_rels = format!(
        r#"{XML}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#
    );
    let rows: String = [("Brokers", 1), ("Topics", 2), ("Partitions", 6)]
        .iter()
        .enumerate()
        .map(|(i, (label, n))| {
            let r = i + 1;
            format!(
                r#"<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>{label}</t></is></c><c r="B{r}"><v>{n}</v></c></row>"#
            )
        })
        .collect();
    let sheet = format!(
        r#"{XML}<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>{rows}</sheetData></worksheet>"#
    );
    zip(&[
        ("[Content_Types].xml", types),
        ("_rels/.rels", rels),
        ("xl/workbook.xml", workbook),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/worksheets/sheet1.xml", sheet),
    ])
}

/// True when `dir` holds no file yet (or does not exist).
pub fn is_empty(dir: &Path) -> bool {
    let scan = super::source::scan(dir);
    scan.files.is_empty() && scan.refused.is_empty() && scan.ignored.is_empty()
}

#[cfg(test)]
mod tests {
    use super::super::chunk::content_type;
    use super::*;

    #[test]
    fn each_sample_is_detected_by_its_bytes() -> Result<()> {
        assert_eq!(content_type(&pdf("x")), "application/pdf");
        assert_eq!(content_type(&png(8, 8)?), "image/png");
        assert_eq!(content_type(&video(4096)), "video/mp4");
        assert_eq!(
            content_type(&docx("x")?),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
        );
        assert_eq!(
            content_type(&xlsx()?),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        );
        Ok(())
    }

    #[test]
    fn events_of_the_learners_own_are_never_replaced() -> Result<()> {
        let dir = std::env::temp_dir().join(format!("sample-own-events-{}", std::process::id()));
        let paths = super::super::Paths::in_dir(&dir);
        std::fs::create_dir_all(paths.events.parent().unwrap_or(&dir))?;
        std::fs::write(&paths.events, "{\"id\":\"mine\"}\n")?;
        write(&paths)?;
        let kept = std::fs::read_to_string(&paths.events)?;
        std::fs::remove_dir_all(&dir)?;
        assert_eq!(kept, "{\"id\":\"mine\"}\n");
        Ok(())
    }
}
