//! Classifies what sits at a CommitLog position; shared by recovery and
//! `inspect` so both judge records the same way.

use basalt_message::{BlankOrRecord, Record};
use bytes::Bytes;

/// What sits at a scan position.
pub(crate) enum Step {
    /// A valid record.
    Record(Box<Record>),
    /// The blank marker: the rest of the file is padding.
    Blank,
    /// Zeroed header: no more data was ever written here.
    End,
    /// Something that is not a valid record.
    Invalid(String),
}

pub(crate) fn step(data: &Bytes, pos: usize, seg_start: u64, check_crc: bool) -> Step {
    let Some(rest) = data.get(pos..) else {
        return Step::End;
    };
    if rest.len() < 8 || rest.get(..8).is_some_and(|h| h.iter().all(|b| *b == 0)) {
        return Step::End;
    }
    match BlankOrRecord::decode(&data.slice(pos..), check_crc) {
        Ok(BlankOrRecord::Blank { .. }) => Step::Blank,
        Ok(BlankOrRecord::Record(r)) if r.physical_offset as u64 != seg_start + pos as u64 => {
            Step::Invalid(format!("PHYSICALOFFSET field says {}", r.physical_offset))
        }
        // The body CRC does not cover topic and properties; RocketMQ always
        // ends a non-empty properties string with U+0002 and topics are
        // printable, which catches a torn write in the record's tail.
        Ok(BlankOrRecord::Record(r))
            if r.properties_raw.last().is_some_and(|b| *b != 2) || r.topic.contains('\0') =>
        {
            Step::Invalid("torn topic or properties".to_owned())
        }
        Ok(BlankOrRecord::Record(r)) => Step::Record(r),
        Err(e) => Step::Invalid(e.to_string()),
    }
}
