//! The header of a file and the cells of its rows, read as values of the resource's fields. A cell is text as the
//! clerk typed it: empty means "not given", dates are `YYYY-MM-DD` (or `DD/MM/YYYY`, as Vietnamese spreadsheets
//! write them), choices are the API's enumeration values.

use std::str::FromStr;

use chrono::{Datelike, NaiveDate};

use super::sheet::{Line, Rows, Unreadable};
use super::Errors;
use crate::error::FieldError;

/// The characters a CSV export puts a `'` before, so that a spreadsheet does not read the cell as a formula.
const GUARDED: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// What an empty cell of a required column is told.
const MISSING: &str = "must have a value";

/// Where each column of an import is in the file.
#[derive(Debug)]
pub struct Header {
    columns: &'static [&'static str],
    /// For each of `columns`, its position in the file.
    positions: Vec<Option<usize>>,
}

impl Header {
    /// Reads the header row: every column must be one of `columns`, named once, and the `required` ones present.
    /// `None` (with the errors recorded against line 1) when it is not a usable header.
    pub fn read<R: std::io::Read>(
        rows: &mut Rows<R>,
        columns: &'static [&'static str],
        required: &[&str],
        errors: &mut Errors,
    ) -> Option<Header> {
        let line = match rows.next() {
            None => {
                errors.push(1, "header", "the file is empty: the first line must name the columns");
                return None;
            }
            Some(Err(Unreadable { number, message })) => {
                errors.push(number, "header", message);
                return None;
            }
            Some(Ok(line)) => line,
        };
        let mut positions = vec![None; columns.len()];
        for (position, name) in line.cells.iter().enumerate() {
            let name = name.trim_start_matches('\u{feff}').trim().to_ascii_lowercase();
            if name.is_empty() {
                continue;
            }
            match columns.iter().position(|c| *c == name) {
                Some(i) if positions[i].is_some() => errors.push(line.number, name, "is a column given more than once"),
                Some(i) => positions[i] = Some(position),
                None => errors.push(
                    line.number,
                    shown(&name),
                    format!("is not a column of this import; the columns are {}", columns.join(", ")),
                ),
            }
        }
        for name in required {
            if !columns.iter().zip(&positions).any(|(c, p)| c == name && p.is_some()) {
                errors.push(line.number, *name, "is a required column");
            }
        }
        errors.is_empty().then_some(Header { columns, positions })
    }

    /// The cells of a data row, for reading its values.
    pub fn row<'a>(&'a self, line: &'a Line) -> Cells<'a> {
        let mut errors = Vec::new();
        let known: usize = self.positions.iter().flatten().map(|p| p + 1).max().unwrap_or(0);
        if line.cells.iter().skip(known).any(|c| !c.is_empty()) {
            errors.push(FieldError::new("row", "has a value in a column without a header"));
        }
        Cells {
            header: self,
            line,
            errors,
        }
    }
}

/// A column name as an error shows it: at most 100 characters, without control characters.
fn shown(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(100).collect()
}

/// The cells of one data row, read as values; what cannot be read is recorded in `errors`.
#[derive(Debug)]
pub struct Cells<'a> {
    header: &'a Header,
    line: &'a Line,
    pub errors: Vec<FieldError>,
}

impl Cells<'_> {
    /// Whether every cell is empty (such a row is skipped).
    pub fn is_blank(&self) -> bool {
        self.line.cells.iter().all(|c| c.is_empty())
    }

    fn raw(&self, column: &str) -> Option<&str> {
        let i = self.header.columns.iter().position(|c| *c == column)?;
        let cell = self.line.cells.get(self.header.positions[i]?)?.as_str();
        // An exported cell that began with a formula character carries a `'` before it.
        let cell = match cell.strip_prefix('\'') {
            Some(rest) if rest.starts_with(GUARDED) => rest,
            _ => cell,
        };
        (!cell.is_empty()).then_some(cell)
    }

    pub fn error(&mut self, field: &str, message: impl Into<String>) {
        self.errors.push(FieldError::new(field, message));
    }

    /// Free text; PostgreSQL text holds no NUL character.
    pub fn text(&mut self, column: &str) -> Option<String> {
        let value = self.raw(column)?;
        if value.contains('\0') {
            self.error(column, "must not contain the NUL character");
            return None;
        }
        Some(value.to_owned())
    }

    /// Text that must be given.
    pub fn required_text(&mut self, column: &str) -> Option<String> {
        let value = self.text(column);
        if value.is_none() && !self.errors.iter().any(|e| e.field == column) {
            self.error(column, MISSING);
        }
        value
    }

    /// A value parsed by `parse`, whose error message is recorded against the column.
    pub fn parsed<T>(&mut self, column: &str, parse: impl FnOnce(&str) -> Result<T, String>) -> Option<T> {
        let value = self.text(column)?;
        parse(&value).map_err(|message| self.error(column, message)).ok()
    }

    /// One of the values of an enumeration.
    pub fn choice<T: FromStr + Copy + std::fmt::Display>(&mut self, column: &str, all: &[T]) -> Option<T> {
        self.parsed(column, |v| {
            v.parse::<T>().map_err(|_| {
                let names: Vec<String> = all.iter().map(|t| t.to_string()).collect();
                format!("must be one of {}", names.join(", "))
            })
        })
    }

    /// A choice that must be given.
    pub fn required_choice<T: FromStr + Copy + std::fmt::Display>(&mut self, column: &str, all: &[T]) -> Option<T> {
        if self.raw(column).is_none() {
            self.error(column, MISSING);
            return None;
        }
        self.choice(column, all)
    }

    /// A date.
    pub fn date(&mut self, column: &str) -> Option<NaiveDate> {
        self.parsed(column, parse_date)
    }

    /// A date that must be given.
    pub fn required_date(&mut self, column: &str) -> Option<NaiveDate> {
        if self.raw(column).is_none() {
            self.error(column, MISSING);
            return None;
        }
        self.date(column)
    }
}

/// A day as `YYYY-MM-DD` or `DD/MM/YYYY`, in the years 1 to 9999.
pub fn parse_date(text: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(text, "%d/%m/%Y"))
        .ok()
        .filter(|d| (1..=9999).contains(&d.year()))
        .ok_or_else(|| "must be a date, YYYY-MM-DD or DD/MM/YYYY".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_in_either_spelling() {
        assert_eq!(
            parse_date("2012-05-19"),
            Ok(NaiveDate::from_ymd_opt(2012, 5, 19).unwrap())
        );
        assert_eq!(
            parse_date("19/05/2012"),
            Ok(NaiveDate::from_ymd_opt(2012, 5, 19).unwrap())
        );
        for bad in ["2012-13-01", "31/02/2012", "-0001-01-01", "yesterday", "12345-01-01"] {
            assert!(parse_date(bad).is_err(), "{bad}");
        }
    }
}
