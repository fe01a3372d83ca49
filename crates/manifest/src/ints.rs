//! Integer lists written as numbers, lists or ranges: `3`, `[0, 1, 2]`, `"0..=24"`,
//! `"0..25"`, `"0..=200 by 20"`, and lists mixing them: `["0..=200 by 20", "300..=2000 by 100"]`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

/// A non-empty list of distinct non-negative integers, in the order written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntList(pub Vec<u64>);

/// The most values one list may hold: as many as the jobs a manifest may expand to
/// ([`crate::MAX_JOBS`]), checked before anything is allocated.
pub const MAX_LIST_VALUES: u64 = crate::MAX_JOBS as u64;

const EXPECTED: &str =
    "an integer, a range like \"0..=24\", \"0..25\" or \"0..=200 by 20\", or a list of those";

/// Parses one range string.
pub fn parse_range(text: &str) -> Result<Vec<u64>, String> {
    let bad = || format!("invalid range {text:?}; expected {EXPECTED}");
    let (range, step) = match text.split_once(" by ") {
        Some((range, step)) => {
            let step: u64 = step.trim().parse().map_err(|_| bad())?;
            if step == 0 {
                return Err(format!(
                    "range {text:?} has step 0; expected a positive step"
                ));
            }
            (range.trim(), step)
        }
        None => (text.trim(), 1),
    };
    let (start, end, inclusive) = if let Some((a, b)) = range.split_once("..=") {
        (a, b, true)
    } else if let Some((a, b)) = range.split_once("..") {
        (a, b, false)
    } else if let Ok(single) = range.parse::<u64>() {
        return Ok(vec![single]);
    } else {
        return Err(bad());
    };
    let start: u64 = start.trim().parse().map_err(|_| bad())?;
    let end: u64 = end.trim().parse().map_err(|_| bad())?;
    if start > end {
        let op = if inclusive { "..=" } else { ".." };
        return Err(format!(
            "range {text:?} is reversed (start {start} > end {end}); write \"{end}{op}{start}\"",
        ));
    }
    let last = if inclusive {
        Some(end)
    } else {
        end.checked_sub(1).filter(|&l| l >= start)
    };
    let Some(last) = last else {
        return Err(format!(
            "range {text:?} is empty; an exclusive range a..b needs a < b (or write \"{start}..={end}\")"
        ));
    };
    // Counted before anything is allocated: "0..=4000000000" must be an error, not an abort.
    // In u128: "0..=18446744073709551615" has one more value than a u64 can count.
    let count = u128::from((last - start) / step) + 1;
    if count > u128::from(MAX_LIST_VALUES) {
        return Err(format!(
            "range {text:?} has {count} values; a list holds at most {MAX_LIST_VALUES} (a manifest expands to at most that many jobs)"
        ));
    }
    let step = usize::try_from(step).map_err(|_| bad())?;
    Ok((start..=last).step_by(step).collect())
}

impl<'de> Deserialize<'de> for IntList {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor;
        impl<'de> Visitor<'de> for ListVisitor {
            type Value = IntList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntList, E> {
                u64::try_from(v).map(|v| IntList(vec![v])).map_err(|_| {
                    E::custom(format!("{v} is negative; expected a non-negative integer"))
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntList, E> {
                Ok(IntList(vec![v]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntList, E> {
                parse_range(v).map(IntList).map_err(E::custom)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<IntList, A::Error> {
                let mut values: Vec<u64> = Vec::new();
                let mut seen = std::collections::HashSet::new();
                while let Some(item) = seq.next_element::<IntItem>()? {
                    for v in item.0 {
                        if !seen.insert(v) {
                            return Err(de::Error::custom(format!(
                                "{v} appears twice; expected distinct values"
                            )));
                        }
                        values.push(v);
                    }
                    if values.len() as u64 > MAX_LIST_VALUES {
                        return Err(de::Error::custom(format!(
                            "the list has more than {MAX_LIST_VALUES} values; a manifest expands to at most that many jobs"
                        )));
                    }
                }
                if values.is_empty() {
                    return Err(de::Error::custom("empty list; expected at least one value"));
                }
                Ok(IntList(values))
            }
        }
        deserializer.deserialize_any(ListVisitor)
    }
}

/// One element of a list: an integer or a range string.
struct IntItem(Vec<u64>);

impl<'de> Deserialize<'de> for IntItem {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl Visitor<'_> for ItemVisitor {
            type Value = IntItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an integer or a range string like \"0..=24\"")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<IntItem, E> {
                u64::try_from(v).map(|v| IntItem(vec![v])).map_err(|_| {
                    E::custom(format!("{v} is negative; expected a non-negative integer"))
                })
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<IntItem, E> {
                Ok(IntItem(vec![v]))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<IntItem, E> {
                parse_range(v).map(IntItem).map_err(E::custom)
            }
        }
        deserializer.deserialize_any(ItemVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_range;

    #[test]
    fn ranges_expand_like_rust_ranges() {
        assert_eq!(parse_range("0..=4").unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(parse_range("0..4").unwrap(), vec![0, 1, 2, 3]);
        assert_eq!(parse_range("7").unwrap(), vec![7]);
        assert_eq!(parse_range("0..=200 by 20").unwrap().len(), 11);
        assert_eq!(parse_range("300..=2000 by 100").unwrap().len(), 18);
        assert_eq!(parse_range("3..=3").unwrap(), vec![3]);
    }

    #[test]
    fn bad_ranges_say_what_is_wrong() {
        assert!(parse_range("5..5").unwrap_err().contains("is empty"));
        assert!(parse_range("24..=0").unwrap_err().contains("reversed"));
        assert!(
            parse_range("a..=3")
                .unwrap_err()
                .contains("expected an integer")
        );
        assert!(parse_range("0..=10 by 0").unwrap_err().contains("step 0"));
    }
}
