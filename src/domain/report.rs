//! Report arithmetic shared by every report.

/// `count / total x 100`, rounded half-up to 2 decimals; 0 when `total` is 0 (an empty scope). Computed in whole
/// hundredths so that no binary fraction shifts a rounding.
pub fn percent(count: i64, total: i64) -> f64 {
    if total <= 0 {
        return 0.0;
    }
    let hundredths = (count as i128 * 10_000 * 2 + total as i128) / (2 * total as i128);
    hundredths as f64 / 100.0
}

#[cfg(test)]
mod tests {
    use super::percent;

    #[test]
    fn percentages_round_half_up_to_two_decimals() {
        assert_eq!(percent(32, 46), 69.57, "the article's 69.56 truncates 69.565...");
        assert_eq!(percent(13, 46), 28.26);
        assert_eq!(percent(1, 46), 2.17);
        assert_eq!(percent(6, 46), 13.04);
        assert_eq!(percent(1, 8), 12.5, "12.5 exactly");
        assert_eq!(percent(1, 3), 33.33);
        assert_eq!(percent(2, 3), 66.67);
        assert_eq!(percent(1, 16), 6.25);
        assert_eq!(percent(1, 160), 0.63, "0.625 rounds up");
        assert_eq!(percent(46, 46), 100.0);
        assert_eq!(percent(0, 46), 0.0);
        assert_eq!(percent(0, 0), 0.0);
    }
}
