//! A deterministic zip writer: the same files give the same bytes on every machine (entries
//! sorted by name, DOS timestamp 1980-01-01 00:00, fixed Unix modes, raw deflate), so an
//! asset's content hash changes only when its content does.

use std::io::Write;

use flate2::Compression;
use flate2::write::DeflateEncoder;

/// One file of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ZipEntry {
    /// Path inside the archive, `/`-separated.
    pub name: String,
    /// Unix mode, e.g. `0o755` for Lambda's `bootstrap`.
    pub mode: u32,
    /// The content.
    pub data: Vec<u8>,
}

/// The archive bytes of `entries`.
pub fn write_zip(mut entries: Vec<ZipEntry>) -> std::io::Result<Vec<u8>> {
    entries.sort_by(|a, b| a.name.cmp(&b.name));
    const DOS_DATE_1980_01_01: u16 = (1 << 5) | 1;
    const DOS_TIME_MIDNIGHT: u16 = 0;
    const VERSION_NEEDED: u16 = 20;
    const MADE_BY_UNIX_V3: u16 = (3 << 8) | 30;
    const DEFLATE: u16 = 8;
    let mut out = Vec::new();
    let mut central = Vec::new();
    for e in &entries {
        let mut enc = DeflateEncoder::new(Vec::new(), Compression::best());
        enc.write_all(&e.data)?;
        let compressed = enc.finish()?;
        let crc = crc32fast::hash(&e.data);
        let offset = u32::try_from(out.len()).map_err(|_| too_big())?;
        let csize = u32::try_from(compressed.len()).map_err(|_| too_big())?;
        let usize_ = u32::try_from(e.data.len()).map_err(|_| too_big())?;
        let name = e.name.as_bytes();
        let name_len = u16::try_from(name.len()).map_err(|_| too_big())?;
        // Local file header.
        out.extend_from_slice(&0x0403_4b50_u32.to_le_bytes());
        for v in [
            VERSION_NEEDED,
            0,
            DEFLATE,
            DOS_TIME_MIDNIGHT,
            DOS_DATE_1980_01_01,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, csize, usize_] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&0_u16.to_le_bytes());
        out.extend_from_slice(name);
        out.extend_from_slice(&compressed);
        // Central directory record.
        central.extend_from_slice(&0x0201_4b50_u32.to_le_bytes());
        for v in [
            MADE_BY_UNIX_V3,
            VERSION_NEEDED,
            0,
            DEFLATE,
            DOS_TIME_MIDNIGHT,
            DOS_DATE_1980_01_01,
        ] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [crc, csize, usize_] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        for v in [name_len, 0, 0, 0, 0] {
            central.extend_from_slice(&v.to_le_bytes());
        }
        let regular_file = 0o100_000;
        central.extend_from_slice(&((regular_file | e.mode) << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name);
    }
    let cd_offset = u32::try_from(out.len()).map_err(|_| too_big())?;
    let cd_size = u32::try_from(central.len()).map_err(|_| too_big())?;
    let count = u16::try_from(entries.len()).map_err(|_| too_big())?;
    out.extend_from_slice(&central);
    out.extend_from_slice(&0x0605_4b50_u32.to_le_bytes());
    for v in [0_u16, 0, count, count] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out.extend_from_slice(&cd_size.to_le_bytes());
    out.extend_from_slice(&cd_offset.to_le_bytes());
    out.extend_from_slice(&0_u16.to_le_bytes());
    Ok(out)
}

fn too_big() -> std::io::Error {
    std::io::Error::other("zip entry or archive over 4 GiB (zip64 is not supported)")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str, data: &[u8]) -> ZipEntry {
        ZipEntry {
            name: name.into(),
            mode: 0o755,
            data: data.to_vec(),
        }
    }

    #[test]
    fn same_input_same_bytes_whatever_the_order() {
        let a = write_zip(vec![
            entry("bootstrap", b"\x7fELF..."),
            entry("README", b"hi"),
        ])
        .unwrap();
        let b = write_zip(vec![
            entry("README", b"hi"),
            entry("bootstrap", b"\x7fELF..."),
        ])
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn unzip_reads_it_back_with_the_executable_bit() {
        let dir = std::env::temp_dir().join(format!("banca-zip-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let data: Vec<u8> = (0..50_000_u32)
            .flat_map(|i| (i % 251).to_le_bytes())
            .collect();
        let zip = write_zip(vec![entry("bootstrap", &data)]).unwrap();
        assert!(zip.len() < data.len() / 2, "deflate compresses");
        let path = dir.join("a.zip");
        std::fs::write(&path, &zip).unwrap();
        let out = std::process::Command::new("python3")
            .args(["-c", "import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); i=z.getinfo('bootstrap'); print(oct(i.external_attr>>16), z.testzip(), len(z.read('bootstrap')))"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(text.trim(), format!("0o100755 None {}", data.len()));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
