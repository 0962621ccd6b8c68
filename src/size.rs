//! Byte sizes as people write them: `1GiB`, `500MB`, `64 KiB`, `1048576`. One parser for the
//! flag and its variable (`--max-unpacked`, `HOOKSTRAP_MAX_UNPACKED`), one exact formatter for
//! defaults shown in help (so what help prints can be given back), and one rounded formatter
//! for messages (`1.2 MiB`).
//!
//! The units follow GNU coreutils: `KiB`/`K` = 1024, `KB` = 1000, and so on up to `T`. Case
//! does not matter, a space may separate number and unit, and a decimal fraction is allowed
//! when the result is a whole number of bytes (`1.5KiB`). A leaf: imports nothing of the crate.

const UNITS: &[(&str, u64)] = &[
    ("b", 1),
    ("k", 1 << 10),
    ("kib", 1 << 10),
    ("kb", 1_000),
    ("m", 1 << 20),
    ("mib", 1 << 20),
    ("mb", 1_000_000),
    ("g", 1 << 30),
    ("gib", 1 << 30),
    ("gb", 1_000_000_000),
    ("t", 1 << 40),
    ("tib", 1 << 40),
    ("tb", 1_000_000_000_000),
];

/// `1GiB`, `500MB`, `1.5 KiB`, `4096` → bytes.
pub fn parse(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit = unit.trim().to_ascii_lowercase();
    let factor = if unit.is_empty() {
        1
    } else {
        UNITS
            .iter()
            .find(|(name, _)| *name == unit)
            .map(|(_, f)| *f)
            .ok_or_else(|| {
                format!(
                    "unknown unit `{}`: use B, KiB, MiB, GiB, KB, MB or GB",
                    unit
                )
            })?
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err("expected a size such as 1GiB, 500MB or 1048576".into());
    }
    let too_big = || "too large".to_string();
    let whole: u64 = match whole {
        "" => 0,
        w => w.parse().map_err(|_| too_big())?,
    };
    let mut bytes = whole.checked_mul(factor).ok_or_else(too_big)?;
    if !fraction.is_empty() {
        if !fraction.bytes().all(|b| b.is_ascii_digit()) || fraction.len() > 12 {
            return Err("expected a size such as 1GiB, 500MB or 1048576".into());
        }
        let scale = 10u128.pow(fraction.len() as u32);
        let part = u128::from(fraction.parse::<u64>().map_err(|_| too_big())?) * u128::from(factor);
        if !part.is_multiple_of(scale) {
            return Err("not a whole number of bytes".into());
        }
        let part = u64::try_from(part / scale).map_err(|_| too_big())?;
        bytes = bytes.checked_add(part).ok_or_else(too_big)?;
    }
    Ok(bytes)
}

/// Exactly, in the largest binary unit that divides it (`1GiB`, `512MiB`, `1000`): what help
/// shows as a default, and what [`parse`] reads back.
pub fn exact(bytes: u64) -> String {
    for (unit, factor) in [
        ("TiB", 1u64 << 40),
        ("GiB", 1 << 30),
        ("MiB", 1 << 20),
        ("KiB", 1 << 10),
    ] {
        if bytes >= factor && bytes.is_multiple_of(factor) {
            return format!("{}{unit}", bytes / factor);
        }
    }
    bytes.to_string()
}

/// Rounded for people: `812 B`, `1.2 KiB`, `24.0 MiB`.
pub fn human(bytes: u64) -> String {
    const STEPS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = STEPS[0];
    for next in &STEPS[1..] {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_plain_bytes() {
        assert_eq!(parse("1048576"), Ok(1 << 20));
        assert_eq!(parse("1GiB"), Ok(1 << 30));
        assert_eq!(parse("1 GiB"), Ok(1 << 30));
        assert_eq!(parse("1gib"), Ok(1 << 30));
        assert_eq!(parse("1G"), Ok(1 << 30));
        assert_eq!(parse("500MB"), Ok(500_000_000));
        assert_eq!(parse("1MiB"), Ok(1 << 20));
        assert_eq!(parse("64K"), Ok(65_536));
        assert_eq!(parse("2kb"), Ok(2_000));
        assert_eq!(parse("1.5KiB"), Ok(1_536));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse(" 12B "), Ok(12));
    }

    #[test]
    fn nonsense_is_refused() {
        for bad in [
            "",
            "GiB",
            "1 parsec",
            "-1",
            "1.2.3GiB",
            "0.1B",
            "99999999999999999999",
            "20000000TiB",
            "1e9",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn exact_reads_back() {
        for n in [
            0,
            1,
            1000,
            1024,
            1536,
            1 << 20,
            1 << 30,
            3 << 40,
            123_456_789,
        ] {
            assert_eq!(parse(&exact(n)), Ok(n), "{}", exact(n));
        }
        assert_eq!(exact(1 << 30), "1GiB");
        assert_eq!(exact(1536), "1536");
    }

    #[test]
    fn human_rounds() {
        assert_eq!(human(812), "812 B");
        assert_eq!(human(1_300), "1.3 KiB");
        assert_eq!(human(24 << 20), "24.0 MiB");
        assert_eq!(human(1 << 30), "1.0 GiB");
    }
}
