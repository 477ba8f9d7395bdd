//! Small, valid PNG images for the photo benchmarks: 8-bit truecolour noise from a seed, stored in
//! uncompressed deflate blocks (so no compression crate is needed and the size is predictable:
//! about 3 × width × height bytes). Any PNG reader opens them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const SIGNATURE: &[u8; 8] = b"\x89PNG\r\n\x1a\n";
/// Largest payload of one stored deflate block.
const STORED_BLOCK: usize = 65_535;

/// A `width` × `height` PNG of seeded noise (each side at least 1 pixel); different seeds give
/// different bytes, so each photo is stored as its own file.
pub fn noise_png(width: u16, height: u16, seed: u64) -> Vec<u8> {
    let (width, height) = (usize::from(width.max(1)), usize::from(height.max(1)));
    let row = 1 + 3 * width;
    let mut raw = vec![0u8; row * height];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for line in raw.chunks_mut(row) {
        // line[0] is the filter type: 0 (none).
        rng.fill_bytes(&mut line[1..]);
    }

    // zlib: CMF 0x78 (deflate, 32 KiB window), FLG 0x01 (check bits, no dictionary).
    let mut zlib = vec![0x78, 0x01];
    let blocks = raw.len().div_ceil(STORED_BLOCK);
    for (i, block) in raw.chunks(STORED_BLOCK).enumerate() {
        zlib.push(u8::from(i + 1 == blocks));
        let len = block.len() as u16;
        zlib.extend_from_slice(&len.to_le_bytes());
        zlib.extend_from_slice(&(!len).to_le_bytes());
        zlib.extend_from_slice(block);
    }
    zlib.extend_from_slice(&adler32(&raw).to_be_bytes());

    let mut ihdr = Vec::with_capacity(13);
    ihdr.extend_from_slice(&(width as u32).to_be_bytes());
    ihdr.extend_from_slice(&(height as u32).to_be_bytes());
    // Bit depth 8, colour type 2 (truecolour), deflate, adaptive filtering, no interlace.
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);

    let mut png = SIGNATURE.to_vec();
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &zlib);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// CRC-32 (IEEE, reflected, as PNG uses it).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    const MOD: u32 = 65_521;
    let (mut a, mut b) = (1u32, 0u32);
    for &x in bytes {
        a = (a + u32::from(x)) % MOD;
        b = (b + a) % MOD;
    }
    (b << 16) | a
}

#[cfg(test)]
mod tests {
    use super::*;
    use gridwalk_core::store::{Archive, ArchiveOptions};

    #[test]
    fn checksums_match_the_published_values() {
        // The IEND chunk's CRC every PNG ends with, and the check values of both algorithms.
        assert_eq!(crc32(b"IEND"), 0xAE42_6082);
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
    }

    #[test]
    fn layout_is_a_png_and_seeds_differ() {
        let png = noise_png(64, 48, 1);
        assert_eq!(&png[..8], SIGNATURE);
        assert_eq!(&png[12..16], b"IHDR");
        assert_eq!(&png[png.len() - 12..], b"\0\0\0\0IEND\xAE\x42\x60\x82");
        // Signature 8, IHDR 25, IDAT 12 + zlib (2 + 5 + raw + 4), IEND 12.
        let raw = 48 * (1 + 3 * 64);
        assert_eq!(png.len(), 8 + 25 + 12 + 2 + 5 + raw + 4 + 12);
        assert_ne!(png, noise_png(64, 48, 2));
        assert_eq!(png, noise_png(64, 48, 1));
    }

    #[test]
    fn the_archive_takes_it_as_a_photo_of_its_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let archive =
            Archive::open(dir.path().join("a.db"), ArchiveOptions::default()).expect("opens");
        // Large enough for two stored deflate blocks.
        let png = noise_png(200, 120, 9);
        let photo = archive.add_photo(&png).expect("a valid image");
        assert_eq!((photo.width, photo.height), (200, 120));
        assert_eq!(photo.size_bytes, png.len() as u64);
    }
}
