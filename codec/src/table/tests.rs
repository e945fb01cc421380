use super::*;

fn read(text: &str, columns: &Columns) -> Result<Table, TableError> {
    read_table(text.as_bytes(), columns, |_| {})
}

fn features(text: &str) -> Result<Table, TableError> {
    read(text, &Columns::Features)
}

#[test]
fn the_default_features_leave_out_time_labels_and_text_columns() {
    let t = features(
        "timestamp,a,site,b,anomaly,label\n2024-01-01,1,north,2,0,0\n2024-01-02,3,south,,1,1\n",
    )
    .unwrap_err();
    // b is empty on row 2: a feature (empty on the first row would be too), so row 2 fails on it.
    assert_eq!(
        t,
        TableError::Value {
            row: 2,
            line: 3,
            column: "b".into(),
            found: String::new()
        }
    );
    let t = features(
        "timestamp,a,site,b,anomaly,label\n2024-01-01,1,north,2,0,0\n2024-01-02,3,south,4,1,1\n",
    )
    .unwrap();
    assert_eq!(t.names, ["a", "b"]);
    assert_eq!(t.values, [1.0, 2.0, 3.0, 4.0]);
    assert_eq!(t.skipped, ["timestamp", "site", "anomaly", "label"]);
    assert_eq!(
        t.timestamps.as_deref(),
        Some(&["2024-01-01".to_string(), "2024-01-02".to_string()][..])
    );
    assert_eq!(t.header.len(), 6);
}

#[test]
fn named_columns_come_in_the_order_asked_and_may_include_any_column() {
    let cols = Columns::Named(vec!["b".into(), "anomaly".into()]);
    let t = read("a,b,anomaly\n1,2,0\n3,4,1\n", &cols).unwrap();
    assert_eq!(t.names, ["b", "anomaly"]);
    assert_eq!(t.values, [2.0, 0.0, 4.0, 1.0]);
    let err = read("a,b\n1,2\n", &Columns::Named(vec!["zz".into()])).unwrap_err();
    assert_eq!(err.to_string(), "no column \"zz\"; the header has: a, b");
}

#[test]
fn syntax_bom_crlf_quotes_blank_lines_and_whitespace() {
    let t = features("\u{feff}a,\"b\"\r\n 1 ,\"2\"\r\n\r\n  \n3,\"4\"\r\n").unwrap();
    assert_eq!(t.names, ["a", "b"]);
    assert_eq!((t.n_rows, t.values.clone()), (2, vec![1.0, 2.0, 3.0, 4.0]));
    // Quoted fields may hold commas, doubled quotes and line breaks.
    let cols = Columns::Named(vec!["v".into()]);
    let t = read(
        "\"a, b\",\"say \"\"hi\"\"\",v\n\"multi\nline\",x,7\n",
        &cols,
    )
    .unwrap();
    assert_eq!(t.values, [7.0]);
    assert_eq!(t.header[..2], ["a, b", "say \"hi\""]);
    // Row numbers skip blank lines; line numbers count them.
    let err = features("a,b\n1,2\n\n1,x\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "row 2 (line 4), column \"b\": expected a number, found \"x\""
    );
}

#[test]
fn errors_name_the_row_line_and_what_was_expected() {
    assert_eq!(features(""), Err(TableError::Empty));
    assert_eq!(
        features("a,b,c\n1,2\n").unwrap_err().to_string(),
        "row 1 (line 2): expected 3 fields like the header, found 2"
    );
    assert_eq!(
        features("site,label\nnorth,1\n").unwrap_err().to_string(),
        "no numeric feature columns; the header has: site, label"
    );
    assert_eq!(
        features("a,name\n1,x\n3,\"open\n4,5\n")
            .unwrap_err()
            .to_string(),
        "line 3: a quoted field is not closed before the end of the file"
    );
    let err = read_table(&b"a\n\xff\n"[..], &Columns::Features, |_| {}).unwrap_err();
    assert!(matches!(err, TableError::Syntax(_)), "{err:?}");
}

#[test]
fn a_header_only_file_is_a_table_of_no_rows() {
    let t = features("a,b\n").unwrap();
    assert_eq!((t.n_rows, t.names.len()), (0, 2));
}

/// Hands out one byte per read: every boundary case of the line and quote scan.
struct Trickle<'a>(&'a [u8]);

impl std::io::Read for Trickle<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.0.split_first() {
            Some((&b, rest)) if !buf.is_empty() => {
                buf[0] = b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

#[test]
fn line_numbers_count_blank_lines_of_every_kind_at_any_read_size() {
    let text = "a,b\r\n1,2\r\n\r\n\n  \r\n7\r\n";
    let expected = TableError::Width {
        row: 2,
        line: 6,
        expected: 2,
        found: 1,
    };
    assert_eq!(features(text), Err(expected.clone()));
    let err = read_table(Trickle(text.as_bytes()), &Columns::Features, |_| {});
    assert_eq!(err, Err(expected));
    let text = "a\n1\n\n\n\"\n";
    let err = read_table(Trickle(text.as_bytes()), &Columns::Features, |_| {}).unwrap_err();
    assert!(
        matches!(
            err,
            TableError::Value {
                row: 2,
                line: 5,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_group_column_is_kept_per_row_and_never_a_feature() {
    let text = "device,a,b\n17,1,2\n18,3,4\n\n17,5,6\n";
    let t =
        read_grouped_table(text.as_bytes(), &Columns::Features, Some("device"), |_| {}).unwrap();
    // A numeric group column would otherwise be a feature.
    assert_eq!(t.names, ["a", "b"]);
    assert_eq!(t.values, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    assert_eq!(t.groups.unwrap(), ["17", "18", "17"]);
    assert_eq!(
        read(text, &Columns::Features).unwrap().names,
        ["device", "a", "b"]
    );

    let named = Columns::Named(vec!["device".into(), "a".into()]);
    let err = read_grouped_table(text.as_bytes(), &named, Some("device"), |_| {}).unwrap_err();
    assert_eq!(err, TableError::GroupIsFeature("device".into()));
    // Two columns of the group's name: the second would be a feature of that name.
    let twice = "device,a,device\nx,1,2\n";
    let err = read_grouped_table(twice.as_bytes(), &Columns::Features, Some("device"), |_| {})
        .unwrap_err();
    assert_eq!(err, TableError::GroupIsFeature("device".into()));
    let err =
        read_grouped_table(text.as_bytes(), &Columns::Features, Some("site"), |_| {}).unwrap_err();
    assert!(
        matches!(err, TableError::MissingColumn { ref name, .. } if name == "site"),
        "{err}"
    );
}
