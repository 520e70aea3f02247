// SPDX-License-Identifier: MPL-2.0
//! Reads an ELF64 shared object's dynamic symbol table, so that libraries which are not modules
//! (GStreamer plugins and everything else in a build tree) are recognised without `dlopen`,
//! which would run their initialisers and map their dependencies.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

const SHT_DYNSYM: u32 = 11;

fn u16_at(b: &[u8], o: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(o..o + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], o: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
}

/// Reads `len` bytes at `offset`, refusing absurd sizes from a corrupt header.
fn read_at(f: &mut File, offset: u64, len: u64) -> Option<Vec<u8>> {
    if len > 256 * 1024 * 1024 {
        return None;
    }
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut buf = vec![0; len as usize];
    f.read_exact(&mut buf).ok()?;
    Some(buf)
}

/// Whether the little-endian ELF64 file at `path` defines the dynamic symbol `name`; `None`
/// when the file is not such an ELF file (the caller then decides by other means).
pub fn defines_dynamic_symbol(path: &Path, name: &str) -> Option<bool> {
    let mut f = File::open(path).ok()?;
    let header = read_at(&mut f, 0, 64)?;
    if &header[..4] != b"\x7fELF" || header[4] != 2 || header[5] != 1 {
        return None;
    }
    let (shoff, shentsize, shnum) = (
        u64_at(&header, 0x28)?,
        u16_at(&header, 0x3a)? as u64,
        u16_at(&header, 0x3c)? as u64,
    );
    if shentsize < 64 {
        return None;
    }
    let sections = read_at(&mut f, shoff, shentsize * shnum)?;
    let section = |i: u64| -> Option<(u32, u64, u64, u32, u64)> {
        let o = (i * shentsize) as usize;
        Some((
            u32_at(&sections, o + 4)?,  // sh_type
            u64_at(&sections, o + 24)?, // sh_offset
            u64_at(&sections, o + 32)?, // sh_size
            u32_at(&sections, o + 40)?, // sh_link
            u64_at(&sections, o + 56)?, // sh_entsize
        ))
    };
    for i in 0..shnum {
        let (kind, offset, size, link, entsize) = section(i)?;
        if kind != SHT_DYNSYM || entsize < 24 {
            continue;
        }
        let (_, str_offset, str_size, _, _) = section(link as u64)?;
        let symbols = read_at(&mut f, offset, size)?;
        let strings = read_at(&mut f, str_offset, str_size)?;
        for s in symbols.chunks_exact(entsize as usize) {
            let (name_at, shndx) = (u32_at(s, 0)? as usize, u16_at(s, 6)?);
            if shndx == 0 {
                continue; // undefined: imported, not exported
            }
            let rest = strings.get(name_at..)?;
            let end = rest.iter().position(|&c| c == 0)?;
            if &rest[..end] == name.as_bytes() {
                return Some(true);
            }
        }
        return Some(false);
    }
    Some(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_exported_symbols_only() {
        let plugin = Path::new("/usr/lib/x86_64-linux-gnu/gstreamer-1.0/libgstcoreelements.so");
        assert_eq!(
            defines_dynamic_symbol(plugin, "gst_plugin_coreelements_get_desc"),
            Some(true)
        );
        assert_eq!(
            defines_dynamic_symbol(plugin, "kurento_module_entry"),
            Some(false)
        );
        // Imported (undefined) symbols do not count.
        assert_eq!(
            defines_dynamic_symbol(plugin, "gst_element_register"),
            Some(false)
        );
        let text = std::env::temp_dir().join(format!("kms-elf-{}.so", std::process::id()));
        std::fs::write(&text, "not a library").unwrap();
        assert_eq!(defines_dynamic_symbol(&text, "x"), None);
        let _ = std::fs::remove_file(text);
    }
}
