//! Python's number formatting, so printed reports read exactly like `report_ci`'s.

/// Python's `format(x, f".{prec}g")`: `prec` significant digits, scientific notation when the
/// exponent is below −4 or at least `prec`, trailing zeros removed.
pub fn g(x: f64, prec: usize) -> String {
    let prec = prec.max(1);
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let sci = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= prec as i32 {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (prec as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Python's `format(c, ".0%")`, e.g. `95%`.
pub fn percent0(c: f64) -> String {
    format!("{:.0}%", c * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_python_g_format() {
        let cases = [
            (0.626, "0.626"),
            (-0.00372, "-0.00372"),
            (0.00579123, "0.00579"),
            (1.0, "1"),
            (0.001, "0.001"),
            (0.0001234, "0.000123"),
            (0.00001234, "1.23e-05"),
            (1234.0, "1.23e+03"),
            (999.6, "1e+03"),
            (0.9996, "1"),
            (0.2100000001, "0.21"),
            (-0.0, "-0"),
            (f64::NAN, "nan"),
        ];
        for (x, want) in cases {
            assert_eq!(g(x, 3), want, "{x}");
        }
        assert_eq!(percent0(0.95), "95%");
        assert_eq!(percent0(0.9), "90%");
    }
}
