//! Training tables (`codec::table::read_table`, the trainer's and `isoserve train`'s reader): any
//! bytes must give a table or an error that renders, never a panic. A table holds
//! `n_rows * names.len()` values, its feature columns are in its header, and a timestamp column,
//! when kept, holds one entry per row. The first byte picks default or named columns, and whether
//! the rows are grouped by a column `g` (`train --group-by`): then the group column is never a
//! feature and holds one entry per row.
#![no_main]

use codec::table::{Columns, read_grouped_table};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let columns = if sel % 2 == 0 {
        Columns::Features
    } else {
        Columns::Named(vec!["b".into(), "a".into()])
    };
    let group = (sel & 2 != 0).then_some("g");
    match read_grouped_table(body, &columns, group, |_| {}) {
        Ok(t) => {
            assert_eq!(t.groups.is_some(), group.is_some());
            if let Some(groups) = &t.groups {
                assert_eq!(groups.len(), t.n_rows);
                assert!(!t.names.iter().any(|n| n == "g"), "the group column is a feature");
            }
            assert_eq!(t.values.len(), t.n_rows * t.names.len());
            assert!(t.names.iter().all(|n| t.header.contains(n)));
            if let Some(times) = &t.timestamps {
                assert_eq!(times.len(), t.n_rows);
            }
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
});
