//! Reading a spreadsheet row by row: CSV streamed with the `csv` crate, or the first sheet of an Excel workbook
//! with `calamine`. Every row keeps the line number a clerk sees in the file (the header is line 1), and every
//! cell is text, as the clerk typed it.

use std::io::{Read, Seek};

use calamine::{open_workbook_from_rs, DataRef, DataType, Reader, Xlsx};

use crate::extract::SheetFormat;

/// The most rows a workbook may have; a workbook is read whole, so this bounds what it costs.
pub const MAX_WORKBOOK_ROWS: u32 = 1_000_000;
/// The most columns a row may have.
pub const MAX_COLUMNS: usize = 64;

/// One row of the file: its line number and its cells, trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub number: u64,
    pub cells: Vec<String>,
}

/// A row that cannot be read at all (bad UTF-8, a broken quote): the line and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    pub number: u64,
    pub message: String,
}

/// The rows of a file, header first.
pub enum Rows<R: Read> {
    Csv(csv::StringRecordsIntoIter<R>),
    Workbook(std::vec::IntoIter<Line>),
}

impl<R: Read> std::fmt::Debug for Rows<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Rows::Csv(_) => "Rows::Csv",
            Rows::Workbook(_) => "Rows::Workbook",
        })
    }
}

/// Opens a CSV file: UTF-8, a byte order mark allowed, comma-separated, rows of any length (checked later).
/// Rows end at `\n` (a `\r` before it is trimmed with the cell), so that a row's position is its line.
pub fn csv<R: Read>(reader: R) -> Rows<R> {
    let records = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_reader(reader)
        .into_records();
    Rows::Csv(records)
}

/// Opens the first sheet of an Excel workbook and reads its rows.
pub fn workbook<R: Read + Seek, S: Read>(reader: R) -> Result<Rows<S>, Unreadable> {
    let unreadable = |e: calamine::XlsxError| Unreadable {
        number: 1,
        message: format!("the file is not a readable Excel workbook ({e})"),
    };
    let mut book: Xlsx<R> = open_workbook_from_rs(reader).map_err(unreadable)?;
    let first = book.sheet_names().first().cloned().ok_or_else(|| Unreadable {
        number: 1,
        message: "the workbook has no sheet".into(),
    })?;
    let mut cells = book.worksheet_cells_reader(&first).map_err(unreadable)?;
    let mut lines: Vec<Line> = Vec::new();
    while let Some(cell) = cells.next_cell().map_err(unreadable)? {
        let (row, column) = cell.get_position();
        if row >= MAX_WORKBOOK_ROWS || column as usize >= MAX_COLUMNS {
            return Err(Unreadable {
                number: u64::from(row) + 1,
                message: format!("a sheet may have at most {MAX_WORKBOOK_ROWS} rows and {MAX_COLUMNS} columns"),
            });
        }
        let text = cell_text(cell.get_value());
        if text.is_empty() {
            continue;
        }
        let number = u64::from(row) + 1;
        if lines.last().is_none_or(|l| l.number != number) {
            lines.push(Line {
                number,
                cells: Vec::new(),
            });
        }
        let line = lines.last_mut().expect("pushed above");
        let column = column as usize;
        if line.cells.len() <= column {
            line.cells.resize(column + 1, String::new());
        }
        line.cells[column] = text;
    }
    Ok(Rows::Workbook(lines.into_iter()))
}

/// Opens a file of either format. A workbook the reader cannot make sense of is unreadable, however it fails.
pub fn open<R: Read + Seek>(format: SheetFormat, reader: R) -> Result<Rows<R>, Unreadable> {
    match format {
        SheetFormat::Csv => Ok(csv(reader)),
        SheetFormat::Xlsx => std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| workbook(reader)))
            .unwrap_or_else(|_| {
                Err(Unreadable {
                    number: 1,
                    message: "the file is not a readable Excel workbook".into(),
                })
            }),
    }
}

/// A cell as text: numbers as typed (a whole number without `.0`), dates as `YYYY-MM-DD`.
fn cell_text(value: &DataRef<'_>) -> String {
    match value {
        DataRef::Empty => String::new(),
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => s.trim().to_owned(),
        DataRef::SharedString(s) => s.trim().to_owned(),
        DataRef::Int(n) => n.to_string(),
        DataRef::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{f:.0}"),
        DataRef::Float(f) => f.to_string(),
        DataRef::Bool(b) => b.to_string(),
        DataRef::DateTime(_) => value
            .as_date()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default(),
        DataRef::Error(e) => format!("#{e:?}"),
    }
}

impl<R: Read> Iterator for Rows<R> {
    type Item = Result<Line, Unreadable>;

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            Rows::Workbook(lines) => lines.next().map(Ok),
            Rows::Csv(records) => {
                let record = records.next()?;
                Some(match record {
                    Ok(record) => {
                        let number = record.position().map_or(0, |p| p.line());
                        Ok(Line {
                            number,
                            cells: record.iter().map(|c| c.trim().to_owned()).collect(),
                        })
                    }
                    Err(e) => Err(Unreadable {
                        number: e.position().map_or(0, |p| p.line()),
                        message: match e.kind() {
                            csv::ErrorKind::Utf8 { .. } => "is not valid UTF-8; save the file as \"CSV UTF-8\"".into(),
                            _ => format!("cannot be read as CSV ({e})"),
                        },
                    }),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<Result<Line, Unreadable>> {
        csv(text.as_bytes()).collect()
    }

    #[test]
    fn csv_rows_keep_their_line_numbers() {
        let rows = lines("\u{feff}a,b\r\n1, x \r\n\"2\nmore\",y\r\n3,z\r\n");
        let numbers: Vec<u64> = rows.iter().map(|r| r.as_ref().unwrap().number).collect();
        assert_eq!(numbers, vec![1, 2, 3, 5]);
        assert_eq!(rows[1].as_ref().unwrap().cells, vec!["1", "x"]);
        assert_eq!(rows[2].as_ref().unwrap().cells, vec!["2\nmore", "y"]);
    }

    #[test]
    fn bad_utf8_is_an_error_on_its_line() {
        let rows: Vec<_> = csv(&b"a\nok\n\xff\xfe\n"[..]).collect();
        assert_eq!(rows[2].as_ref().unwrap_err().number, 3);
    }
}
