//! Request headers: every line of the input (lossily UTF-8) is read as an
//! `X-Amzn-SageMaker-Custom-Attributes` value (`CustomAttributes::parse`, and what it accepts
//! must write back to the same attributes), an `Accept` value (`OutputFormat::negotiate`) and a
//! `Content-Type` value (`InputFormat::from_content_type`). None may panic; errors must render.
#![no_main]

use codec::{CustomAttributes, InputFormat, OutputFormat};
use isoserve_fuzz::check_error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for s in text.split('\n') {
        match CustomAttributes::parse(Some(s)) {
            Ok(a) => assert_eq!(CustomAttributes::parse(a.header_value().as_deref()), Ok(a)),
            Err(e) => check_error(&e),
        }
        for default in [OutputFormat::Json, OutputFormat::Csv] {
            match OutputFormat::negotiate(Some(s), default) {
                // The chosen format's own content type is read back as that format.
                Ok(f) => assert_eq!(
                    OutputFormat::negotiate(Some(f.content_type()), default),
                    Ok(f)
                ),
                Err(e) => check_error(&e),
            }
        }
        match InputFormat::from_content_type(Some(s)) {
            // The canonical media type of a format is read back as that format.
            Ok(f) => assert_eq!(InputFormat::from_content_type(Some(f.media_type())), Ok(f)),
            Err(e) => check_error(&e),
        }
    }
});
