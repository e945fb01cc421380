//! Request headers: every line of the input (lossily UTF-8) is read as an
//! `X-Amzn-SageMaker-Custom-Attributes` value (`Shape::from_custom_attributes`,
//! `context_from_custom_attributes`), an `Accept` value (`OutputFormat::negotiate`) and a
//! `Content-Type` value (`InputFormat::from_content_type`). None may panic; errors must render.
#![no_main]

use codec::{InputFormat, OutputFormat, Shape};
use isoserve_fuzz::check_error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    for s in text.split('\n') {
        if let Err(e) = Shape::from_custom_attributes(Some(s)) {
            check_error(&e);
        }
        if let Err(e) = codec::context_from_custom_attributes(Some(s)) {
            check_error(&e);
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
