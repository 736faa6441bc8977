//! Counts written for people: thousands separators and singular or plural nouns.

/// Formats a count with thousands separators: 1000000 → "1,000,000".
pub fn thousands(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// "1 contact", "3 contacts".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// Names for a message about `total` people, of whom `names` are known: "Ana Li",
/// "Ana Li and Bo Chen", "Ana Li and 41 others". Empty when no name is known.
pub fn name_list(names: &[String], total: i64) -> String {
    match (names, total) {
        ([], _) => String::new(),
        ([one, ..], n) if n <= 1 => one.clone(),
        ([a, b, ..], 2) => format!("{a} and {b}"),
        ([a, ..], n) => format!("{a} and {}", plural(n - 1, "other", "others")),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_counts() {
        assert_eq!(super::thousands(0), "0");
        assert_eq!(super::thousands(999), "999");
        assert_eq!(super::thousands(1000), "1,000");
        assert_eq!(super::thousands(1234567), "1,234,567");
        assert_eq!(super::plural(1, "contact", "contacts"), "1 contact");
        assert_eq!(super::plural(2000, "contact", "contacts"), "2,000 contacts");
    }

    #[test]
    fn lists_names() {
        let names = vec!["Ana Li".to_string(), "Bo Chen".to_string(), "Cy Dee".to_string()];
        assert_eq!(super::name_list(&names[..1], 1), "Ana Li");
        assert_eq!(super::name_list(&names[..2], 2), "Ana Li and Bo Chen");
        assert_eq!(super::name_list(&names, 42), "Ana Li and 41 others");
        assert_eq!(super::name_list(&names[..1], 2), "Ana Li and 1 other");
        assert_eq!(super::name_list(&[], 3), "");
    }
}
