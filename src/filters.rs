//! Askama filters shared by the templates (`use crate::filters;` beside a template struct).

use askama::Values;
use chrono::NaiveDateTime;

/// Anything that is a stored time, however many references deep the template hands it over.
pub trait StoredTime {
    fn naive(&self) -> NaiveDateTime;
}

impl StoredTime for NaiveDateTime {
    fn naive(&self) -> NaiveDateTime {
        *self
    }
}

impl<T: StoredTime + ?Sized> StoredTime for &T {
    fn naive(&self) -> NaiveDateTime {
        (**self).naive()
    }
}

/// `2026-11-23 20:49 UTC`: stored times are naive UTC.
#[askama::filter_fn]
pub fn datetime<T: StoredTime>(value: T, _: &dyn Values) -> askama::Result<String> {
    Ok(value.naive().format("%Y-%m-%d %H:%M UTC").to_string())
}

/// `2026-11-23T20:49:00Z` for `<time datetime=…>`.
#[askama::filter_fn]
pub fn iso<T: StoredTime>(value: T, _: &dyn Values) -> askama::Result<String> {
    Ok(value.naive().format("%Y-%m-%dT%H:%M:%SZ").to_string())
}

/// `v12` → `12` and `draft` unchanged: turns a comparison label back into a query value.
#[askama::filter_fn]
pub fn trim_start_matches_v<T: std::fmt::Display>(
    value: T,
    _: &dyn Values,
) -> askama::Result<String> {
    let s = value.to_string();
    Ok(s.strip_prefix('v').map(str::to_owned).unwrap_or(s))
}
