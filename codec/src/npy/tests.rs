use super::*;
use crate::test_support::names;

/// Array storage order, as `np.save` writes it.
#[derive(Clone, Copy)]
enum Order {
    C,
    Fortran,
}

/// A value NumPy can store, with its bytes in either order.
trait Item: Copy {
    fn bytes(self, big_endian: bool) -> Vec<u8>;
}

macro_rules! item {
    ($($t:ty),*) => {$(
        impl Item for $t {
            fn bytes(self, big_endian: bool) -> Vec<u8> {
                if big_endian { self.to_be_bytes().to_vec() } else { self.to_le_bytes().to_vec() }
            }
        }
    )*};
}
item!(f64, f32, i64, i32, i16, u8, u64);

impl Item for bool {
    fn bytes(self, _: bool) -> Vec<u8> {
        vec![u8::from(self)]
    }
}

/// Writes an npy file as `np.save` does: the header padded so the data starts at a multiple of
/// 64 bytes, the items in the dtype's byte order.
fn npy<T: Item>(descr: &str, shape: &[u64], order: Order, data: &[T]) -> Vec<u8> {
    let fortran = matches!(order, Order::Fortran);
    let big_endian = descr.starts_with('>');
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.bytes(big_endian)).collect();
    file(descr, fortran, &show(shape), &bytes)
}

/// Writes an npy file by hand, for dtypes the writer does not produce.
fn raw_npy(descr: &str, shape: &str, data: &[u8]) -> Vec<u8> {
    file(descr, false, shape, data)
}

/// A version 1.0 file: preamble, the header dict padded to a multiple of 64 bytes, the data.
fn file(descr: &str, fortran: bool, shape: &str, data: &[u8]) -> Vec<u8> {
    let fortran = if fortran { "True" } else { "False" };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(data);
    out
}

fn decode(body: &[u8], n: usize) -> Result<Rows, DecodeError> {
    decode_npy(body, &names(n), &Limits::default())
}

#[test]
fn float64_2d_little_and_big_endian() {
    for descr in ["<f8", ">f8"] {
        let body = npy(descr, &[2, 3], Order::C, &[1.0f64, 2.0, 3.0, 4.0, 5.0, 6.5]);
        let rows = decode(&body, 3).unwrap();
        assert_eq!(
            rows,
            Rows {
                values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.5],
                n_rows: 2,
                n_cols: 3
            },
            "{descr}"
        );
    }
}

#[test]
fn float32_2d_little_and_big_endian() {
    for descr in ["<f4", ">f4"] {
        let body = npy(descr, &[2, 2], Order::C, &[1.5f32, -2.0, 0.25, 8.0]);
        assert_eq!(
            decode(&body, 2).unwrap().values,
            vec![1.5, -2.0, 0.25, 8.0],
            "{descr}"
        );
    }
}

#[test]
fn one_dimensional_is_one_row() {
    let body = npy("<f8", &[3], Order::C, &[1.0f64, 2.0, 3.0]);
    let rows = decode(&body, 3).unwrap();
    assert_eq!(
        (rows.n_rows, rows.n_cols, rows.values),
        (1, 3, vec![1.0, 2.0, 3.0])
    );
    let body = npy("<f4", &[2], Order::C, &[1.0f32, 2.0]);
    assert_eq!(decode(&body, 2).unwrap().values, vec![1.0, 2.0]);
}

#[test]
fn fortran_order_is_transposed_to_rows() {
    // The matrix [[1, 2, 3], [4, 5, 6]] stored column after column.
    let body = npy(
        "<f8",
        &[2, 3],
        Order::Fortran,
        &[1.0f64, 4.0, 2.0, 5.0, 3.0, 6.0],
    );
    assert_eq!(
        decode(&body, 3).unwrap().values,
        vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    );
}

#[test]
fn nan_is_missing_and_infinity_rejected() {
    let body = npy("<f8", &[1, 2], Order::C, &[f64::NAN, 1.0]);
    assert!(decode(&body, 2).unwrap().values[0].is_nan());
    let body = npy("<f4", &[2, 2], Order::C, &[1.0f32, 2.0, 3.0, f32::INFINITY]);
    assert_eq!(
        decode(&body, 2).unwrap_err().to_string(),
        "row 2, feature_2: \"inf\" is not a finite number (infinity is not accepted)"
    );
}

#[test]
fn integer_dtypes_are_converted() {
    let body = npy("<i8", &[1, 2], Order::C, &[1i64, -2]);
    assert_eq!(decode(&body, 2).unwrap().values, vec![1.0, -2.0]);
    let body = npy(">i4", &[2], Order::C, &[7i32, 9]);
    assert_eq!(decode(&body, 2).unwrap().values, vec![7.0, 9.0]);
    let body = npy("|u1", &[1, 2], Order::C, &[255u8, 0]);
    assert_eq!(decode(&body, 2).unwrap().values, vec![255.0, 0.0]);
    let body = npy("<u8", &[1, 1], Order::C, &[u64::MAX]);
    assert_eq!(decode(&body, 1).unwrap().values, vec![u64::MAX as f64]);
    let body = npy("<i2", &[1, 1], Order::C, &[-300i16]);
    assert_eq!(decode(&body, 1).unwrap().values, vec![-300.0]);
}

#[test]
fn wrong_dtype_is_precise() {
    let body = npy("|b1", &[1, 2], Order::C, &[true, false]);
    assert_eq!(
        decode(&body, 2).unwrap_err().to_string(),
        "invalid npy: unsupported dtype '|b1'; expected float32 or float64 ('<f4', '>f4', '<f8', '>f8') \
         or an integer type"
    );
    for descr in ["<f2", "<U3", "<c16"] {
        let err = decode(&raw_npy(descr, "(1, 2)", &[0; 96]), 2)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(&format!("invalid npy: unsupported dtype '{descr}'")),
            "{err}"
        );
    }
}

#[test]
fn wrong_shape_is_precise() {
    let body = npy("<f8", &[2, 3], Order::C, &[0.0f64; 6]);
    assert_eq!(
        decode(&body, 4).unwrap_err().to_string(),
        "invalid npy: expected shape (n, 4), found (2, 3)"
    );
    let body = npy("<f8", &[3], Order::C, &[0.0f64; 3]);
    assert_eq!(
        decode(&body, 2).unwrap_err().to_string(),
        "invalid npy: expected shape (2,), found (3,)"
    );
    let body = npy("<f8", &[1, 2, 2], Order::C, &[0.0f64; 4]);
    assert_eq!(
        decode(&body, 2).unwrap_err().to_string(),
        "invalid npy: expected a 1-D or 2-D array, found shape (1, 2, 2)"
    );
}

#[test]
fn empty_arrays_and_bodies_are_no_rows() {
    let body = npy::<f64>("<f8", &[0, 2], Order::C, &[]);
    assert_eq!(decode(&body, 2), Err(DecodeError::NoRows));
    assert_eq!(decode(b"", 2), Err(DecodeError::NoRows));
}

#[test]
fn truncated_or_garbage_bodies_are_errors() {
    let body = npy("<f8", &[2, 2], Order::C, &[1.0f64, 2.0, 3.0, 4.0]);
    let err = decode(&body[..body.len() - 8], 2).unwrap_err();
    assert!(matches!(err, DecodeError::Npy { .. }), "{err}");
    let err = decode(b"not an npy file at all", 2).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid npy: cannot read the header"),
        "{err}"
    );
}

#[test]
fn hand_written_files_match_the_writer() {
    let data: Vec<u8> = [1.0f64, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let written = npy("<f8", &[1, 2], Order::C, &[1.0f64, 2.0]);
    assert_eq!(
        decode(&raw_npy("<f8", "(1, 2)", &data), 2),
        decode(&written, 2)
    );
    assert_eq!(decode(&written, 2).unwrap().values, vec![1.0, 2.0]);
}

#[test]
fn short_data_is_rejected_before_allocating() {
    let err = decode(&raw_npy("<f8", "(1000000, 2)", &[0; 16]), 2).unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid npy: the header announces 16000000 bytes of data but the body is shorter"
    );
}

#[test]
fn row_limit_applies() {
    let body = npy("<f8", &[3, 1], Order::C, &[1.0f64, 2.0, 3.0]);
    let err = decode_npy(&body, &names(1), &Limits::with_max_rows(2)).unwrap_err();
    assert_eq!(err, DecodeError::TooManyRows { limit: 2 });
}
