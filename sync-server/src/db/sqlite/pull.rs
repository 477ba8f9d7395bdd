use gridwalk_core::WorkerId;
use gridwalk_core::protocol::{
    BuildingField, Change, ConflictView, ReviewDecision, ReviewOutcome, Scope, TombstoneReason,
};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, named_params, params};

use super::{allocate_seqs, from_ms, ms};
use crate::db::codec::{
    left_scope_sql, parse_code, parse_device, parse_json, parse_record_id, scope_sql, seq_i, seq_u,
};
use crate::db::{ChangeJson, DbError, PullPageJson, PullParams};

pub fn pull(c: &mut Connection, p: &PullParams) -> Result<PullPageJson, DbError> {
    // One read transaction: all three streams come from the same snapshot.
    let tx = c.transaction_with_behavior(TransactionBehavior::Deferred)?;
    let limit = p.limit as usize;
    let fetch = i64::from(p.limit) + 1;
    let after = seq_i(p.after_seq);
    let mut items: Vec<(u64, ChangeJson)> = Vec::new();

    let (pred, scope_val) = scope_sql(&p.scope, "", ":scope");
    // Each building comes with the server's latest rating of it (its explanation).
    let mut st = tx.prepare(&format!(
        "SELECT seq, data, (SELECT h.entry FROM rating_history h WHERE h.building_code = buildings.code
             ORDER BY h.id DESC LIMIT 1)
         FROM buildings WHERE seq > :after AND removed = 0 AND {pred}
         ORDER BY seq LIMIT :fetch"
    ))?;
    let rows = st.query_map(
        named_params! {":after": after, ":scope": scope_val, ":fetch": fetch},
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        },
    )?;
    for row in rows {
        let (seq, data, rating) = row?;
        items.push((seq_u(seq), ChangeJson::Building { data, rating }));
    }

    // A fresh device has nothing to drop, so it gets no tombstones.
    if p.after_seq > 0 {
        let (pred, scope_val) = left_scope_sql(&p.scope, ":scope");
        let mut st = tx.prepare(&format!(
            "SELECT seq, code, reason FROM building_exits WHERE seq > :after AND {pred}
             ORDER BY seq LIMIT :fetch"
        ))?;
        let rows = st.query_map(
            named_params! {":after": after, ":scope": scope_val, ":fetch": fetch},
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            },
        )?;
        for row in rows {
            let (seq, code, reason) = row?;
            let reason = TombstoneReason::parse(&reason)
                .ok_or_else(|| DbError::Corrupt(format!("tombstone reason '{reason}'")))?;
            items.push((
                seq_u(seq),
                ChangeJson::Other(Change::Tombstone {
                    code: parse_code(&code)?,
                    reason,
                }),
            ));
        }
    }

    let mut st = tx.prepare(
        "SELECT seq, record_id, decision, comment, reviewer, reviewed_at FROM review_outcomes
         WHERE username = :user AND seq > :after ORDER BY seq LIMIT :fetch",
    )?;
    let rows = st.query_map(
        named_params! {":user": p.username, ":after": after, ":fetch": fetch},
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, i64>(5)?,
            ))
        },
    )?;
    for row in rows {
        let (seq, record, decision, comment, reviewer, at) = row?;
        let decision = ReviewDecision::parse(&decision)
            .ok_or_else(|| DbError::Corrupt(format!("review decision '{decision}'")))?;
        items.push((
            seq_u(seq),
            ChangeJson::Other(Change::Review {
                outcome: ReviewOutcome {
                    record: parse_record_id(&record)?,
                    decision,
                    comment,
                    reviewer: WorkerId(reviewer),
                    reviewed_at: from_ms(at)?,
                },
            }),
        ));
    }
    Ok(crate::db::merge_page(items, limit))
}

pub fn add_review(c: &mut Connection, o: &ReviewOutcome) -> Result<Option<u64>, DbError> {
    let tx = c.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = o.record.to_string();
    let Some(username) = tx
        .query_row(
            "SELECT username FROM records WHERE record_id = ?1",
            [&id],
            |r| r.get::<_, String>(0),
        )
        .optional()?
    else {
        return Ok(None);
    };
    let seq = allocate_seqs(&tx, 1)?;
    tx.execute(
        "INSERT INTO review_outcomes (seq, record_id, username, decision, comment, reviewer,
             reviewed_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            seq_i(seq),
            id,
            username,
            o.decision.as_str(),
            o.comment,
            o.reviewer.as_str(),
            ms(o.reviewed_at)
        ],
    )?;
    tx.commit()?;
    Ok(Some(seq))
}

pub fn conflicts(c: &mut Connection, scope: &Scope) -> Result<Vec<ConflictView>, DbError> {
    let (pred, scope_val) = scope_sql(scope, "b.", ":scope");
    let mut st = c.prepare(&format!(
        "SELECT k.id, k.record_id, k.building_code, k.field, k.seen, k.proposed, k.current,
                r.username, r.device_id, k.created_at
         FROM conflicts k
         JOIN records r ON r.record_id = k.record_id
         JOIN buildings b ON b.code = k.building_code
         WHERE {pred} ORDER BY k.id"
    ))?;
    let rows = st.query_map(named_params! {":scope": scope_val}, |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
            r.get::<_, String>(6)?,
            r.get::<_, String>(7)?,
            r.get::<_, String>(8)?,
            r.get::<_, i64>(9)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, record, code, field, seen, proposed, current, user, device, at) = row?;
        out.push(ConflictView {
            id,
            record: parse_record_id(&record)?,
            building: parse_code(&code)?,
            field: BuildingField::parse(&field)
                .ok_or_else(|| DbError::Corrupt(format!("field '{field}'")))?,
            seen: parse_json(&seen)?,
            proposed: parse_json(&proposed)?,
            current: parse_json(&current)?,
            worker: WorkerId(user),
            device: parse_device(&device)?,
            received_at: from_ms(at)?,
        });
    }
    Ok(out)
}
