//! The coordinator's `Txn` stream (Kafka's `__transaction_state`): every
//! state change of a `transactional.id` is one record, and recovery reads
//! the last one per id back (see [`super::TxnCoordinator::recover`]).
//!
//! Reading is fallible: a record that passed its batch's CRC but is not one
//! this coordinator writes decodes to `None`, and recovery ends there.

use super::{TxnIdx, TxnMeta, TxnState};
use crate::storage::Record;

/// One state record: key = the `transactional.id` index; value = producer
/// id, epoch, state, timeout, start, then the partitions and the offsets.
pub(super) fn encode(offset: u64, txn: TxnIdx, m: &TxnMeta) -> Record {
    let mut v = Vec::with_capacity(32 + 4 * m.partitions.len() + 12 * m.offsets.len());
    v.extend_from_slice(&m.producer_id.to_le_bytes());
    v.extend_from_slice(&m.epoch.to_le_bytes());
    v.push(m.state.code());
    v.extend_from_slice(&m.transaction_timeout_ms.to_le_bytes());
    v.extend_from_slice(&m.started_ms.to_le_bytes());
    v.extend_from_slice(&(m.partitions.len() as u16).to_le_bytes());
    for (t, p) in &m.partitions {
        v.extend_from_slice(&t.to_le_bytes());
        v.extend_from_slice(&p.to_le_bytes());
    }
    v.extend_from_slice(&(m.offsets.len() as u16).to_le_bytes());
    for (g, p, o) in &m.offsets {
        v.extend_from_slice(&g.to_le_bytes());
        v.extend_from_slice(&p.to_le_bytes());
        v.extend_from_slice(&o.to_le_bytes());
    }
    Record {
        offset,
        timestamp_ms: m.started_ms,
        producer_id: m.producer_id,
        key: Some(txn.to_le_bytes().to_vec()),
        value: v,
    }
}

/// Reads little-endian numbers off the front of a byte slice.
struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn u16(&mut self) -> Option<u16> {
        self.take().map(u16::from_le_bytes)
    }
    fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }
}

pub(super) fn decode(r: &Record) -> Option<(TxnIdx, TxnMeta)> {
    let txn = u16::from_le_bytes(r.key.as_deref()?.try_into().ok()?);
    let mut rd = Reader(&r.value);
    let producer_id = rd.u64()?;
    // An exhausted epoch cannot be bumped at recovery: not one we wrote.
    let epoch = rd.u16().filter(|&e| e < u16::MAX)?;
    let state = TxnState::from_code(rd.take::<1>()?[0])?;
    let transaction_timeout_ms = rd.u64()?;
    let started_ms = rd.u64()?;
    let n = rd.u16()?;
    let partitions = (0..n)
        .map(|_| Some((rd.u16()?, rd.u16()?)))
        .collect::<Option<Vec<_>>>()?;
    let n = rd.u16()?;
    let offsets = (0..n)
        .map(|_| Some((rd.u16()?, rd.u16()?, rd.u64()?)))
        .collect::<Option<Vec<_>>>()?;
    let meta = TxnMeta {
        producer_id,
        epoch,
        state,
        transaction_timeout_ms,
        started_ms,
        partitions,
        offsets,
        waiting: None,
        prepare_offset: None,
    };
    Some((txn, meta))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_records_round_trip() {
        let meta = TxnMeta {
            producer_id: 1001,
            epoch: 7,
            state: TxnState::PrepareCommit,
            transaction_timeout_ms: 60_000,
            started_ms: 42,
            partitions: vec![(0, 1), (1, 3)],
            offsets: vec![(0, 1, 99)],
            waiting: None,
            prepare_offset: None,
        };
        assert_eq!(decode(&encode(5, 3, &meta)), Some((3, meta)));
    }
}
