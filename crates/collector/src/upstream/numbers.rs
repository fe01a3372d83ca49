//! Number and step notations of the upstream layouts.

/// Formats steps in thousands the upstream way: 2000 → `2M`, 20 → `20k`, 0 → `0`.
pub fn format_steps(thousands: i64) -> String {
    if thousands == 0 {
        "0".into()
    } else if thousands % 1000 == 0 {
        format!("{}M", thousands / 1000)
    } else {
        format!("{thousands}k")
    }
}

/// Parses the upstream step notation (`2M`, `20k`, `0`) into thousands of steps.
pub fn parse_steps(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(m) = s.strip_suffix(['M', 'm']) {
        m.parse::<i64>().ok()?.checked_mul(1000)
    } else if let Some(k) = s.strip_suffix(['k', 'K']) {
        k.parse().ok()
    } else if s == "0" {
        Some(0)
    } else {
        None
    }
}

/// Formats a float as Python's `repr` does (`2e-05`, `0.0001`, `1.0`), as the upstream file
/// names and `index.tsv` write learning rates.
pub fn python_float(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "nan".into()
        } else if x > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` is the shortest round-trip digits, like Python's repr.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if (-4..16).contains(&exp) {
        let fixed = format!("{x}");
        if fixed.contains('.') {
            fixed
        } else {
            format!("{fixed}.0")
        }
    } else {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{mantissa}e{sign}{:02}", exp.abs())
    }
}

/// Formats a number for a text layout: integral values without a fraction (`1`), others in
/// the shortest form that parses back to the same `f64`.
pub(crate) fn format_number(x: f64) -> String {
    if x.is_finite() && x.fract() == 0.0 && x.abs() < 9.0e15 {
        format!("{}", x as i64)
    } else if x.is_nan() {
        "nan".into()
    } else {
        format!("{x}")
    }
}
