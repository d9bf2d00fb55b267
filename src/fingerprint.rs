//! Settings identity as data: what shapes an output is a serialisable value, and its fingerprint
//! is the hash of its serialised bytes (as cargo's fingerprints), never of `Debug` text.

use serde::Serialize;
use xxhash_rust::xxh3::xxh3_64;

/// XXH3-64 of `value`'s JSON. Every value hashed here serialises (no maps with non-string keys).
pub fn of<T: Serialize>(value: &T) -> u64 {
    xxh3_64(&serde_json::to_vec(value).unwrap_or_default())
}

/// A fingerprint as 16 hex digits, for file names and the state file.
pub fn hex(value: u64) -> String {
    format!("{value:016x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize)]
    struct Settings<'a> {
        quality: u8,
        name: &'a str,
    }

    #[test]
    fn equal_values_hash_equal_and_any_change_shows() {
        let a = of(&Settings {
            quality: 85,
            name: "large",
        });
        assert_eq!(
            a,
            of(&Settings {
                quality: 85,
                name: "large"
            })
        );
        assert_ne!(
            a,
            of(&Settings {
                quality: 84,
                name: "large"
            })
        );
        assert_eq!(hex(0xab).len(), 16);
    }
}
